/**
 * RFC 9449 §4.2 proofs: a `dpop+jwt` signed by the agent's DPoP key, carrying its public `jwk`,
 * for one request (`htm`, `htu` without query or fragment), with a fresh `jti` and `iat`; `ath`
 * (the SHA-256 of the access token) when the proof goes with a token to a resource (§7.1).
 */
import { createHash, randomUUID } from 'node:crypto';
import { exportJWK, SignJWT, type CryptoKey, type JWK } from 'jose';

export interface DpopKeyPair {
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  /** Default ES256. */
  readonly alg?: string;
}

export interface DpopProofRequest {
  readonly method: string;
  readonly url: string | URL;
  /** The access token the proof goes with (resource requests). */
  readonly accessToken?: string;
  /** A server-provided nonce (§8, §9). */
  readonly nonce?: string;
}

/** The public members only, whatever else the exported key carries. */
async function publicJwkOf(key: CryptoKey): Promise<JWK> {
  const { kty, crv, x, y, n, e } = await exportJWK(key);
  return { kty, crv, x, y, n, e };
}

export async function createDpopProof(key: DpopKeyPair, request: DpopProofRequest): Promise<string> {
  const url = new URL(request.url);
  const claims: Record<string, unknown> = {
    htm: request.method.toUpperCase(),
    htu: `${url.origin}${url.pathname}`,
    jti: randomUUID(),
    iat: Math.floor(Date.now() / 1000),
  };
  if (request.accessToken !== undefined) {
    claims.ath = createHash('sha256').update(request.accessToken, 'ascii').digest('base64url');
  }
  if (request.nonce !== undefined) claims.nonce = request.nonce;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg ?? 'ES256', typ: 'dpop+jwt', jwk: await publicJwkOf(key.publicKey) })
    .sign(key.privateKey);
}
