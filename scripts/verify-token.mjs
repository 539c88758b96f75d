#!/usr/bin/env node
// What a resource server does: verify an agent-sts token with nothing but the JWKS.
//   node scripts/verify-token.mjs <issuer> <expected audience> <token>
import { createRemoteJWKSet, jwtVerify } from 'jose';

const [issuer, audience, token] = process.argv.slice(2);
if (!issuer || !audience || !token) {
  process.stderr.write('usage: verify-token.mjs <issuer> <audience> <token>\n');
  process.exit(2);
}
const metadata = await (await fetch(`${issuer}/.well-known/oauth-authorization-server`)).json();
const jwks = createRemoteJWKSet(new URL(metadata.jwks_uri));
const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer, audience, typ: 'at+jwt' });
process.stdout.write(JSON.stringify({ header: protectedHeader, claims: payload }, null, 2) + '\n');
