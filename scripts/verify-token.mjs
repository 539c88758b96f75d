#!/usr/bin/env node
// What a resource server does: verify an agent-sts access token with nothing but the JWKS, and
// check that a DPoP-bound token is presented by the holder of its key (docs/resource-servers.md).
//   node scripts/verify-token.mjs <issuer> <expected audience> <token>
//       the token as the request presented it with `Authorization: Bearer <token>`
//   node scripts/verify-token.mjs <issuer> <expected audience> <token> <DPoP proof> <method> <URL>
//       the token presented with `Authorization: DPoP <token>`, the request's `DPoP` header,
//       and the method and URL of that request
// Prints the verified header and claims; exits 1 with the reason when the token is refused.
import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { calculateJwkThumbprint, createRemoteJWKSet, EmbeddedJWK, jwtVerify } from 'jose';

/** agent-sts signs access tokens with ES256; accept nothing else (never `none` or HMAC). */
const TOKEN_ALGORITHMS = ['ES256'];
/** RFC 9449 §4.3: proofs are signed with an asymmetric algorithm (agent-sts's dpop_signing_alg_values_supported). */
const PROOF_ALGORITHMS = ['ES256', 'PS256', 'EdDSA', 'Ed25519'];
/** How old a proof's `iat` may be, and how far ahead of this clock, in seconds (RFC 9449 §11.1). */
const PROOF_MAX_AGE_SECONDS = 60;
const CLOCK_SKEW_SECONDS = 5;

/** A refused request, with the RFC 6750 §3.1 / RFC 9449 §7.1 error code to answer it with. */
export class RefusedToken extends Error {
  /** @param {'invalid_request' | 'invalid_token' | 'invalid_dpop_proof'} code */
  constructor(code, message) {
    super(message);
    this.name = 'RefusedToken';
    this.code = code;
  }
}

/**
 * Proof `jti`s already seen, until their `iat` leaves the acceptance window (RFC 9449 §11.1).
 * One process; several instances of an API need a shared store instead.
 */
export function createProofReplayCache() {
  const seen = new Map();
  return {
    /** True the first time a `jti` is claimed within the window, false on every replay. */
    claim(jti, nowSeconds) {
      for (const [key, expiresAt] of seen) if (expiresAt <= nowSeconds) seen.delete(key);
      if (seen.has(jti)) return false;
      seen.set(jti, nowSeconds + PROOF_MAX_AGE_SECONDS + 2 * CLOCK_SKEW_SECONDS);
      return true;
    },
  };
}

/** The request URI without query and fragment, as RFC 9449 §4.3 compares `htu`. */
function withoutQuery(url) {
  const parsed = new URL(url);
  parsed.search = '';
  parsed.hash = '';
  return parsed.href;
}

/**
 * RFC 9449 §4.3 and §7.1: the one `DPoP` header is a valid proof for this request and this token,
 * signed by the key the token is bound to, and never seen before.
 */
async function verifyProof(dpop, token, jkt, request, replays) {
  const proofs = Array.isArray(dpop) ? dpop : dpop === undefined ? [] : [dpop];
  if (proofs.length !== 1) throw new RefusedToken('invalid_dpop_proof', 'exactly one DPoP proof is required');
  let proof;
  try {
    proof = await jwtVerify(proofs[0], EmbeddedJWK, {
      typ: 'dpop+jwt',
      algorithms: PROOF_ALGORITHMS,
      maxTokenAge: PROOF_MAX_AGE_SECONDS,
      clockTolerance: CLOCK_SKEW_SECONDS,
    });
  } catch (error) {
    throw new RefusedToken('invalid_dpop_proof', `invalid DPoP proof: ${error.message}`);
  }
  const { payload, protectedHeader } = proof;
  if ((await calculateJwkThumbprint(protectedHeader.jwk)) !== jkt)
    throw new RefusedToken('invalid_dpop_proof', 'the proof is not signed by the key the token is bound to');
  if (payload.htm !== request.method)
    throw new RefusedToken('invalid_dpop_proof', 'the proof is for another HTTP method');
  if (
    typeof payload.htu !== 'string' ||
    !URL.canParse(payload.htu) ||
    withoutQuery(payload.htu) !== withoutQuery(request.url)
  )
    throw new RefusedToken('invalid_dpop_proof', 'the proof is for another URL');
  if (payload.ath !== createHash('sha256').update(token).digest('base64url'))
    throw new RefusedToken('invalid_dpop_proof', 'the proof is for another access token');
  if (typeof payload.jti !== 'string' || payload.jti === '')
    throw new RefusedToken('invalid_dpop_proof', 'the proof has no jti');
  if (!replays.claim(payload.jti, Math.floor(Date.now() / 1000)))
    throw new RefusedToken('invalid_dpop_proof', 'the proof has been used before');
}

/**
 * Verifies the access token of one request.
 * @param {{ authorization: string, dpop?: string | string[], method: string, url: string }} request
 *   the `Authorization` and `DPoP` headers, method and absolute URL of the request received
 * @param {{ issuer: string, audience: string, jwks: Parameters<typeof jwtVerify>[1],
 *   replays: ReturnType<typeof createProofReplayCache> }} options
 * @returns the verified header and claims
 */
export async function verifyRequest(request, { issuer, audience, jwks, replays }) {
  const match = /^(Bearer|DPoP) ([A-Za-z0-9._~+/-]+=*)$/i.exec(request.authorization ?? '');
  if (!match)
    throw new RefusedToken('invalid_request', 'Authorization must be "Bearer <token>" or "DPoP <token>"');
  const scheme = match[1].toLowerCase();
  const token = match[2];
  let verified;
  try {
    // RFC 9068 §4: the issuer, your audience, `typ: at+jwt` and the signature, with a pinned alg.
    verified = await jwtVerify(token, jwks, {
      issuer,
      audience,
      typ: 'at+jwt',
      algorithms: TOKEN_ALGORITHMS,
    });
  } catch (error) {
    throw new RefusedToken('invalid_token', `invalid access token: ${error.message}`);
  }
  const { cnf } = verified.payload;
  if (cnf !== undefined) {
    // RFC 9449 §7.1: a token bound to a key is refused unless presented with a proof of that key.
    if (typeof cnf !== 'object' || cnf === null || typeof cnf.jkt !== 'string')
      throw new RefusedToken(
        'invalid_token',
        'the token is bound by a method this resource server does not check',
      );
    if (scheme !== 'dpop')
      throw new RefusedToken(
        'invalid_token',
        'a DPoP-bound token must be presented with Authorization: DPoP',
      );
    await verifyProof(request.dpop, token, cnf.jkt, request, replays);
  } else if (scheme === 'dpop') {
    throw new RefusedToken(
      'invalid_token',
      'the token is not DPoP-bound; present it with Authorization: Bearer',
    );
  }
  return verified;
}

async function main(argv) {
  const [issuer, audience, token, proof, method, url] = argv;
  if (!issuer || !audience || !token || (proof !== undefined && (!method || !url))) {
    process.stderr.write(
      'usage: verify-token.mjs <issuer> <audience> <token> [<DPoP proof> <method> <URL>]\n',
    );
    process.exit(2);
  }
  const metadata = await (await fetch(`${issuer}/.well-known/oauth-authorization-server`)).json();
  const jwks = createRemoteJWKSet(new URL(metadata.jwks_uri));
  const request =
    proof === undefined
      ? { authorization: `Bearer ${token}`, method: 'GET', url: issuer }
      : { authorization: `DPoP ${token}`, dpop: proof, method, url };
  try {
    const { payload, protectedHeader } = await verifyRequest(request, {
      issuer,
      audience,
      jwks,
      replays: createProofReplayCache(),
    });
    process.stdout.write(JSON.stringify({ header: protectedHeader, claims: payload }, null, 2) + '\n');
  } catch (error) {
    if (!(error instanceof RefusedToken)) throw error;
    process.stderr.write(`refused (${error.code}): ${error.message}\n`);
    process.exit(1);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv.slice(2));
}
