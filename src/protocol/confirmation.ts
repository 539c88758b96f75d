/**
 * The RFC 7800 `cnf` (confirmation) claim of a token: written when the token is DPoP-bound (RFC
 * 9449 §6.1 `jkt`), read from subject and actor tokens and at introspection.
 */
import type { JWTPayload } from 'jose';
import type { TokenBinding } from '../domain/types.js';
import { ACCESS_TOKEN_TYPE_BEARER, ACCESS_TOKEN_TYPE_DPOP, CLAIM_CNF } from './constants.js';

const UNBOUND: TokenBinding = Object.freeze({ kind: 'none' });
const UNSUPPORTED: TokenBinding = Object.freeze({ kind: 'unsupported' });

/**
 * The binding a token's `cnf` names: none, a DPoP key, or a method this service cannot check (any
 * member but `jkt`, alone or beside it). Undefined when the claim is malformed.
 */
export function bindingOf(payload: JWTPayload): TokenBinding | undefined {
  const cnf = payload[CLAIM_CNF];
  if (cnf === undefined) return UNBOUND;
  if (typeof cnf !== 'object' || cnf === null || Array.isArray(cnf)) return undefined;
  const { jkt, ...others } = cnf as Record<string, unknown>;
  const otherMethods = Object.keys(others).length > 0;
  if (jkt === undefined) return otherMethods ? UNSUPPORTED : undefined;
  if (typeof jkt !== 'string' || jkt === '') return undefined;
  return otherMethods ? UNSUPPORTED : { kind: 'jkt', jkt };
}

/** RFC 6749 §7.1 `token_type` of a token bound to `jkt`, or of a bearer token when it is null. */
export function accessTokenType(jkt: string | null): string {
  return jkt === null ? ACCESS_TOKEN_TYPE_BEARER : ACCESS_TOKEN_TYPE_DPOP;
}
