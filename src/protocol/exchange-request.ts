/**
 * Parses token-endpoint parameters into the domain's request shape (RFC 8693 §2.1, RFC 8707 §2).
 * Parsing is separate from policy: this only checks that the request is well formed.
 */
import { refuse } from '../domain/refusal.js';
import { parseScopeParameter } from '../domain/scopes.js';
import type { Result } from '../domain/types.js';
import {
  ACCEPTED_INPUT_TOKEN_TYPES,
  ISSUABLE_TOKEN_TYPES,
  TOKEN_TYPE_ACCESS_TOKEN,
  TOKEN_TYPE_TXN_TOKEN,
  TXN_TOKEN_TYPES,
} from './constants.js';

export type Params = Readonly<Record<string, unknown>>;

export interface ParsedTarget {
  readonly target: string | null;
  readonly requestedScopes: string[] | null;
}

export interface ParsedExchange extends ParsedTarget {
  readonly subjectToken: string;
  readonly subjectTokenType: string;
  readonly actorToken: string | null;
  readonly actorTokenType: string | null;
  readonly requestedTokenType: string;
  /** Whether `requested_token_type` was sent at all (it defaults to an access token). */
  readonly requestedTokenTypeGiven: boolean;
  readonly impersonation: boolean;
}

/** Parameter names of the two grants: the token endpoint keeps these and drops the rest. */
export const CLIENT_CREDENTIALS_PARAMETERS = ['scope', 'audience', 'resource'] as const;
export const TOKEN_EXCHANGE_PARAMETERS = [
  'subject_token',
  'subject_token_type',
  'actor_token',
  'actor_token_type',
  'requested_token_type',
  'audience',
  'resource',
  'scope',
  'impersonate',
  // Transaction Tokens draft, "Txn-Token Request" (ADR 0024).
  'request_context',
  'request_details',
] as const;
/** RFC 8693 §2.1 allows `audience` and `resource` to repeat; we still take exactly one target. */
export const REPEATABLE_PARAMETERS = ['audience', 'resource'] as const;

const MAX_TARGET_VALUES = 20;

function values(raw: unknown): string[] {
  if (raw === undefined || raw === null) return [];
  return (Array.isArray(raw) ? raw : [raw]).filter((value): value is string => typeof value === 'string');
}

function optionalString(raw: unknown): string | null {
  return typeof raw === 'string' && raw !== '' ? raw : null;
}

/** RFC 8707 §2: a resource is an absolute URI without a fragment. */
function isResourceIndicator(value: string): boolean {
  try {
    return !new URL(value).hash && !value.includes('#');
  } catch {
    return false;
  }
}

export function parseTarget(params: Params): Result<ParsedTarget> {
  const audiences = values(params.audience);
  const resources = values(params.resource);
  if (audiences.length + resources.length > MAX_TARGET_VALUES) {
    return refuse('target_not_allowed', 'invalid_target', 'too many audience or resource values');
  }
  if (resources.some((resource) => !isResourceIndicator(resource))) {
    return refuse(
      'target_not_registered',
      'invalid_target',
      'resource must be an absolute URI without a fragment',
    );
  }
  const distinct = new Set([...audiences, ...resources].filter((value) => value !== ''));
  if (distinct.size > 1) {
    return refuse(
      'target_not_allowed',
      'invalid_target',
      'exactly one audience or resource may be requested per token',
    );
  }
  const scopes = parseScopeParameter(optionalString(params.scope) ?? undefined);
  if (!scopes.ok) return scopes;
  return { ok: true, value: { target: [...distinct][0] ?? null, requestedScopes: scopes.value } };
}

export function parseExchange(params: Params): Result<ParsedExchange> {
  const subjectToken = optionalString(params.subject_token);
  const subjectTokenType = optionalString(params.subject_token_type);
  if (!subjectToken || !subjectTokenType) {
    return refuse(
      'invalid_parameters',
      'invalid_request',
      'subject_token and subject_token_type are required',
    );
  }
  const actorToken = optionalString(params.actor_token);
  const actorTokenType = optionalString(params.actor_token_type);
  // RFC 8693 §2.1: actor_token_type is REQUIRED with actor_token and MUST NOT appear without it.
  if (Boolean(actorToken) !== Boolean(actorTokenType)) {
    return refuse(
      'invalid_parameters',
      'invalid_request',
      'actor_token and actor_token_type must be sent together',
    );
  }
  const requestedTokenType = optionalString(params.requested_token_type) ?? TOKEN_TYPE_ACCESS_TOKEN;
  const issuable: readonly string[] = [...ISSUABLE_TOKEN_TYPES, ...TXN_TOKEN_TYPES];
  if (!issuable.includes(requestedTokenType)) {
    return refuse('unsupported_requested_token_type', 'invalid_request', 'requested_token_type unsupported');
  }
  // A Txn-Token is a subject token only to be replaced by another Txn-Token (ADR 0024), never an
  // actor token: it is not an access token nor a workload credential (Txn-Tokens draft, Security
  // Considerations: "Transaction Tokens Are Not Authentication Credentials").
  const subjectTypes: readonly string[] =
    requestedTokenType === TOKEN_TYPE_TXN_TOKEN
      ? [...ACCEPTED_INPUT_TOKEN_TYPES, TOKEN_TYPE_TXN_TOKEN]
      : ACCEPTED_INPUT_TOKEN_TYPES;
  const actorTypes: readonly string[] = ACCEPTED_INPUT_TOKEN_TYPES;
  if (!subjectTypes.includes(subjectTokenType) || (actorTokenType && !actorTypes.includes(actorTokenType))) {
    return refuse(
      'invalid_parameters',
      'invalid_request',
      'unsupported subject_token_type or actor_token_type',
    );
  }
  const impersonate = optionalString(params.impersonate);
  if (impersonate !== null && impersonate !== 'true' && impersonate !== 'false') {
    return refuse('invalid_parameters', 'invalid_request', 'impersonate must be true or false');
  }
  const target = parseTarget(params);
  if (!target.ok) return target;
  return {
    ok: true,
    value: {
      ...target.value,
      subjectToken,
      subjectTokenType,
      actorToken,
      actorTokenType,
      requestedTokenType,
      requestedTokenTypeGiven: optionalString(params.requested_token_type) !== null,
      impersonation: impersonate === 'true',
    },
  };
}
