/**
 * The cheap structural checks every presented JWT passes before any key, JWKS or database is
 * touched, so oversized, encrypted or malformed input fails fast (SECURITY-CASES ST-09).
 */
import { decodeJwt, decodeProtectedHeader, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import { CLAIM_SCOPE, MAX_INPUT_TOKEN_LENGTH } from './constants.js';

/** Why a token is not a JWT worth verifying. */
export type CompactJwtFailure = 'too_large' | 'not_compact' | 'malformed';

export type DecodedJwt =
  | { readonly ok: true; readonly header: ProtectedHeaderParameters; readonly payload: JWTPayload }
  | { readonly ok: false; readonly reason: CompactJwtFailure };

/** RFC 7515 §7.1 compact JWS: three non-empty parts, so never a JWE (five) nor an unsigned JWT. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** The token's header and claims, unverified: for routing and key lookup only, never for a decision. */
export function decodeCompactJwt(token: string): DecodedJwt {
  if (token.length > MAX_INPUT_TOKEN_LENGTH) return { ok: false, reason: 'too_large' };
  if (!COMPACT_JWS.test(token)) return { ok: false, reason: 'not_compact' };
  try {
    return { ok: true, header: decodeProtectedHeader(token), payload: decodeJwt(token) };
  } catch {
    return { ok: false, reason: 'malformed' };
  }
}

/** RFC 7519 §4.1.3: `aud` as a list, whether the token holds one string or an array. */
export function audiencesOf(payload: JWTPayload): string[] {
  if (typeof payload.aud === 'string') return [payload.aud];
  return Array.isArray(payload.aud)
    ? payload.aud.filter((aud): aud is string => typeof aud === 'string')
    : [];
}

/** RFC 9068 §2.2.3: the space-separated `scope` claim as a list; empty when absent or not a string. */
export function scopesOf(payload: JWTPayload): string[] {
  const scope = payload[CLAIM_SCOPE];
  return typeof scope === 'string' ? scope.split(' ').filter(Boolean) : [];
}
