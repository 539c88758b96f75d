/**
 * DPoP (RFC 9449) as a client and a resource server do it: a key pair, proofs signed with it
 * (valid by default, any part overridable to make a bad one), token requests carrying them, and
 * the resource server's check that a bound token is presented by the holder of its key.
 */
import { createHash, randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import {
  base64url,
  calculateJwkThumbprint,
  EmbeddedJWK,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';
import {
  credentials,
  encodeForm,
  postToken,
  type Form,
  type TestAgent,
  type TokenResponse,
} from './oauth.js';
import type { TestServer } from './server.js';

export interface DpopKey {
  readonly alg: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
  /** RFC 7638 thumbprint: what `cnf.jkt` of a token bound to this key holds. */
  readonly jkt: string;
}

export async function generateDpopKey(alg = 'ES256'): Promise<DpopKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return { alg, privateKey, publicJwk, jkt: await calculateJwkThumbprint(publicJwk) };
}

export interface ProofOptions {
  /** Header members to set or override; `undefined` removes one. */
  readonly header?: Record<string, unknown>;
  /** Claims to set or override; `undefined` removes one. */
  readonly claims?: Record<string, unknown>;
  /** Signs with this key instead of the DPoP key (the header still carries the DPoP key's jwk). */
  readonly signingKey?: CryptoKey | Uint8Array;
}

function withoutUndefined(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined));
}

/** An RFC 9449 §4.2 proof for `POST <issuer>/token`, issued now, with a fresh `jti`. */
export async function dpopProof(
  server: TestServer,
  key: DpopKey,
  options: ProofOptions = {},
): Promise<string> {
  const claims = withoutUndefined({
    htm: 'POST',
    htu: `${server.baseUrl}/token`,
    iat: Math.floor(Date.now() / 1000),
    jti: randomUUID(),
    ...options.claims,
  });
  const header = withoutUndefined({ typ: 'dpop+jwt', alg: key.alg, jwk: key.publicJwk, ...options.header });
  return new SignJWT(claims as JWTPayload)
    .setProtectedHeader(header as { alg: string })
    .sign(options.signingKey ?? key.privateKey);
}

/** An unsecured JWT (`alg: none`) shaped like a proof. */
export function unsecuredProof(server: TestServer, key: DpopKey): string {
  const encode = (value: object) => base64url.encode(JSON.stringify(value));
  const header = { typ: 'dpop+jwt', alg: 'none', jwk: key.publicJwk };
  const claims = {
    htm: 'POST',
    htu: `${server.baseUrl}/token`,
    iat: Math.floor(Date.now() / 1000),
    jti: randomUUID(),
  };
  return `${encode(header)}.${encode(claims)}.`;
}

/** A token request authenticated as `agent`, with one `DPoP` header per proof given. */
export async function requestTokenWithProof(
  server: TestServer,
  agent: TestAgent,
  form: Form,
  proofs: string | readonly string[],
): Promise<TokenResponse> {
  const { headers, fields } = await credentials(server, agent);
  if (typeof proofs === 'string')
    return postToken(server, { ...fields, ...form }, { ...headers, dpop: proofs });
  // fetch folds repeated headers into one; node:http sends an array as separate header lines.
  return new Promise((resolve, reject) => {
    const body = encodeForm({ ...fields, ...form });
    const request = httpRequest(
      `${server.baseUrl}/token`,
      {
        method: 'POST',
        headers: {
          ...headers,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
          dpop: [...proofs],
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(response.headers)) {
            if (typeof value === 'string') responseHeaders.set(name, value);
          }
          resolve({
            status: response.statusCode ?? 0,
            headers: responseHeaders,
            body: JSON.parse(text) as Record<string, unknown>,
            text,
          });
        });
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/**
 * What a resource server does with `Authorization: DPoP <token>` and its proof (RFC 9449 §4.3,
 * §7.1): checks the proof for this request (`htm`, `htu`, `ath` = the token's hash) and answers the
 * thumbprint of the key that signed it, which must equal the token's `cnf.jkt`.
 */
export async function proofKeyAtResourceServer(
  proof: string,
  token: string,
  request: { readonly htm: string; readonly htu: string },
): Promise<string> {
  const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, {
    typ: 'dpop+jwt',
    algorithms: ['ES256', 'PS256', 'EdDSA', 'Ed25519'],
    maxTokenAge: '5m',
  });
  if (payload.htm !== request.htm || payload.htu !== request.htu)
    throw new Error('proof is for another request');
  if (payload.ath !== createHash('sha256').update(token).digest('base64url')) throw new Error('ath mismatch');
  return calculateJwkThumbprint(protectedHeader.jwk as JWK);
}
