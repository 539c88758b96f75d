/**
 * Transaction Tokens on the wire (draft-ietf-oauth-transaction-tokens, ADR 0024): the request's
 * JSON parameters (`request_context`, `request_details`) and the signed Txn-Token, a JWT of its own
 * `typ` (`txntoken+jwt`) under the same keys as every other token of this service.
 */
import { SignJWT } from 'jose';
import { refuse } from '../domain/refusal.js';
import type { JsonObject, TxnTokenRequest } from '../domain/txn-token.js';
import type { ActClaim, Result } from '../domain/types.js';
import type { LoadedKey } from '../infra/signing-keys.js';
import { TXN_TOKEN_TYP } from './constants.js';
import type { ParsedExchange, Params } from './exchange-request.js';

/** Longest `request_context` or `request_details` accepted, in characters: a Txn-Token stays small. */
export const MAX_CONTEXT_PARAMETER_LENGTH = 4096;
/** Deepest nesting of objects and arrays in a context parameter. */
export const MAX_CONTEXT_NESTING = 8;

/** The claims of a Txn-Token ("JWT Body Claims"), plus `iss` and `jti` for lineage and verification. */
export interface TxnTokenClaims {
  readonly iss: string;
  readonly iat: number;
  readonly exp: number;
  /** The Trust Domain. */
  readonly aud: string;
  readonly txn: string;
  readonly sub: string;
  readonly scope: string;
  /** The requesting workload: the agent that asked for this Txn-Token. */
  readonly req_wl: string;
  /** RFC 8693 §4.1: the requesting workloads of the chain, newest outermost. */
  readonly act: ActClaim;
  readonly rctx?: JsonObject;
  readonly tctx?: JsonObject;
  readonly jti: string;
}

export function signTxnToken(key: LoadedKey, claims: TxnTokenClaims): Promise<string> {
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: key.alg, typ: TXN_TOKEN_TYP, kid: key.kid })
    .sign(key.privateKey);
}

/** The nesting depth of a parsed JSON value, walked with its own stack. */
function nesting(value: unknown): number {
  let deepest = 0;
  const pending: { readonly value: unknown; readonly depth: number }[] = [{ value, depth: 0 }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (typeof next.value !== 'object' || next.value === null) continue;
    const depth = next.depth + 1;
    deepest = Math.max(deepest, depth);
    if (depth > MAX_CONTEXT_NESTING) return depth;
    for (const member of Object.values(next.value)) pending.push({ value: member, depth });
  }
  return deepest;
}

/** One JSON-object parameter: absent is null; anything but a small JSON object is refused. */
function jsonObjectParameter(params: Params, name: string): Result<JsonObject | null> {
  const raw = params[name];
  if (raw === undefined || raw === '') return { ok: true, value: null };
  const malformed = refuse(
    'invalid_parameters',
    'invalid_request',
    `${name} must be a JSON object of at most ${MAX_CONTEXT_PARAMETER_LENGTH} characters`,
  );
  if (typeof raw !== 'string' || raw.length > MAX_CONTEXT_PARAMETER_LENGTH) return malformed;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return malformed;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return malformed;
  if (nesting(value) > MAX_CONTEXT_NESTING) {
    return refuse('invalid_parameters', 'invalid_request', `${name} is nested too deeply`);
  }
  return { ok: true, value: value as JsonObject };
}

/** The Txn-Token request ("Txn-Token Request") from the parsed exchange and its extra parameters. */
export function parseTxnTokenRequest(params: Params, exchange: ParsedExchange): Result<TxnTokenRequest> {
  const requestContext = jsonObjectParameter(params, 'request_context');
  if (!requestContext.ok) return requestContext;
  const requestDetails = jsonObjectParameter(params, 'request_details');
  if (!requestDetails.ok) return requestDetails;
  return {
    ok: true,
    value: {
      target: exchange.target,
      requestedScopes: exchange.requestedScopes,
      impersonation: exchange.impersonation,
      requestContext: requestContext.value,
      requestDetails: requestDetails.value,
    },
  };
}
