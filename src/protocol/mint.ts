/**
 * Signs an issued token as an RFC 9068 JWT access token with the active signing key.
 */
import { createHash, randomUUID, sign } from 'node:crypto';
import { SignJWT } from 'jose';
import { formatScopes } from '../domain/scopes.js';
import type { ActClaim, IssueDecision } from '../domain/types.js';
import type { LoadedKey } from '../infra/signing-keys.js';
import { nodeKeyOf } from './node-key.js';
import { ACCESS_TOKEN_TYP } from './constants.js';

export interface AccessTokenClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: string;
  readonly client_id: string;
  readonly scope: string;
  readonly act?: ActClaim;
  /** RFC 9449 §6.1: the thumbprint of the key the token is bound to. */
  readonly cnf?: { readonly jkt: string };
  readonly txn: string;
  readonly jti: string;
  readonly iat: number;
  readonly nbf: number;
  readonly exp: number;
}

export function signAccessToken(key: LoadedKey, claims: AccessTokenClaims): Promise<string> {
  return signTypedJwt(key, claims, ACCESS_TOKEN_TYP);
}

/** Signs `claims` with the active key under an explicit `typ` (RFC 8725 §3.11): one per JWT kind. */
export async function signTypedJwt(key: LoadedKey, claims: AccessTokenClaims, typ: string): Promise<string> {
  if (key.alg === 'ES256') return signEs256(key, claims, typ);
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: key.alg, typ, kid: key.kid })
    .sign(key.privateKey);
}

/**
 * The same compact JWS jose's SignJWT makes (RFC 7515 §7.1: header and claims as base64url JSON,
 * the ECDSA signature as R || S, RFC 7518 §3.4), signed by node:crypto in this thread: WebCrypto,
 * which jose uses, costs about four times the CPU per ES256 signature (a promise, algorithm
 * normalisation and a thread-pool job around the same OpenSSL call).
 */
function signEs256(key: LoadedKey, claims: AccessTokenClaims, typ: string): string {
  const privateKey = nodeKeyOf(key.privateKey);
  const header = Buffer.from(JSON.stringify({ alg: key.alg, typ, kid: key.kid })).toString('base64url');
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const input = `${header}.${payload}`;
  const signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

/** The identifiers of a token about to be issued, and what its audit event says of it. */
export interface IssuedToken {
  readonly jti: string;
  /** The chain id: the subject token's, or a new one for a new chain. */
  readonly txn: string;
  /** The granted scopes, space-separated. */
  readonly scope: string;
  readonly description?: string;
  /** Once signed: `tokenDigest` of the token, for its lineage row (ADR 0028). */
  readonly digest?: Uint8Array;
}

/**
 * SHA-256 of a signed compact JWT exactly as it was handed out (ADR 0028): lineage records it at
 * issuance, and a token presented back is ours when its digest is the recorded one.
 */
export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** A fresh `jti`, the chain's `txn` (new for a new chain) and the granted scope of a decision. */
export function newToken(decision: Pick<IssueDecision, 'txn' | 'scopes'>): IssuedToken {
  return { jti: randomUUID(), txn: decision.txn ?? randomUUID(), scope: formatScopes(decision.scopes) };
}
