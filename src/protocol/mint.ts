/**
 * Signs an issued token as an RFC 9068 JWT access token with the active signing key.
 */
import { SignJWT } from 'jose';
import type { ActClaim } from '../domain/types.js';
import type { LoadedKey } from '../infra/signing-keys.js';
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
export function signTypedJwt(key: LoadedKey, claims: AccessTokenClaims, typ: string): Promise<string> {
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: key.alg, typ, kid: key.kid })
    .sign(key.privateKey);
}
