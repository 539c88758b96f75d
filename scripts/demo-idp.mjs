#!/usr/bin/env node
// A stand-in for a company identity provider, for the README walk-through and local trials.
//   node scripts/demo-idp.mjs jwks                       prints the IdP's public JWKS (creates the key once)
//   node scripts/demo-idp.mjs token <sub> <aud> <scope>  prints an RFC 9068 access token for <sub>
// The private key lives in .data/demo-idp.jwk; the issuer is https://idp.example.com.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { exportJWK, generateKeyPair, importJWK, SignJWT } from 'jose';

const ISSUER = 'https://idp.example.com';
const KEY_FILE = '.data/demo-idp.jwk';

async function privateJwk() {
  if (existsSync(KEY_FILE)) return JSON.parse(readFileSync(KEY_FILE, 'utf8'));
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'demo-idp-1', alg: 'ES256', use: 'sig' };
  mkdirSync('.data', { recursive: true });
  writeFileSync(KEY_FILE, JSON.stringify(jwk), { mode: 0o600 });
  return jwk;
}

const [command, sub, aud, scope] = process.argv.slice(2);
const jwk = await privateJwk();
if (command === 'jwks') {
  const { d: _private, ...publicJwk } = jwk;
  process.stdout.write(JSON.stringify({ keys: [publicJwk] }) + '\n');
} else if (command === 'token' && sub && aud) {
  const token = await new SignJWT({ scope: scope ?? '', client_id: 'demo-app' })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: jwk.kid })
    .setIssuer(ISSUER)
    .setSubject(sub)
    .setAudience(aud)
    .setIssuedAt()
    .setExpirationTime('15m')
    .setJti(crypto.randomUUID())
    .sign(await importJWK(jwk, 'ES256'));
  process.stdout.write(token + '\n');
} else {
  process.stderr.write('usage: demo-idp.mjs jwks | token <sub> <aud> [scope]\n');
  process.exit(2);
}
