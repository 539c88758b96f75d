/**
 * Why a request was refused, as data. `code` is stable (switch on it); `error` and `status` are
 * what the client is told (RFC 6750 §3.1, RFC 9449 §7.1), and `wwwAuthenticate()` builds the
 * challenge from them. The description is short, public and never echoes the token.
 */

/** Every reason `verifyAgentToken` and the adapters refuse a request. */
export type AgentTokenErrorCode =
  // RFC 6750 §3.1: no credentials at all (the challenge then carries no error code).
  | 'token_missing'
  // RFC 6750 §3.1 invalid_request: a malformed Authorization header or DPoP header.
  | 'request_malformed'
  // RFC 6750 §3.1 invalid_token: the token itself.
  | 'token_malformed'
  | 'token_signature_invalid'
  | 'token_key_unknown'
  | 'token_type_invalid'
  | 'token_issuer_invalid'
  | 'token_audience_invalid'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'token_claims_invalid'
  | 'token_binding_unsupported'
  // The token, its chain (`txn`) or an ancestor was revoked at agent-sts (a received SET).
  | 'token_revoked'
  // The chain policy of this resource (RFC 8693 §4.1 `act`).
  | 'chain_too_deep'
  | 'chain_actor_not_allowed'
  | 'chain_actor_forbidden'
  | 'chain_refused'
  // RFC 6750 §3.1 insufficient_scope.
  | 'scope_insufficient'
  // RFC 9449 §7.1: a bound token without the holder's proof, or a proof-scheme token not bound.
  | 'dpop_proof_required'
  | 'dpop_token_not_bound'
  | 'dpop_key_mismatch'
  // RFC 9449 §4.3 / §7.1 invalid_dpop_proof: the proof itself.
  | 'dpop_proof_invalid'
  | 'dpop_proof_replayed'
  | 'dpop_proof_stale'
  | 'dpop_method_mismatch'
  | 'dpop_url_mismatch'
  | 'dpop_ath_mismatch'
  // The JWKS could not be fetched: not the client's fault, answered as 503 by the adapters.
  | 'jwks_unavailable';

/** The `error` attribute of the challenge; absent when no credentials were sent. */
export type ChallengeError =
  'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'invalid_dpop_proof';

interface Answer {
  readonly status: number;
  readonly error?: ChallengeError;
}

const INVALID_TOKEN: Answer = { status: 401, error: 'invalid_token' };
const INVALID_PROOF: Answer = { status: 401, error: 'invalid_dpop_proof' };

/** The HTTP answer of each code. */
const ANSWERS: Readonly<Record<AgentTokenErrorCode, Answer>> = {
  token_missing: { status: 401 },
  request_malformed: { status: 400, error: 'invalid_request' },
  token_malformed: INVALID_TOKEN,
  token_signature_invalid: INVALID_TOKEN,
  token_key_unknown: INVALID_TOKEN,
  token_type_invalid: INVALID_TOKEN,
  token_issuer_invalid: INVALID_TOKEN,
  token_audience_invalid: INVALID_TOKEN,
  token_expired: INVALID_TOKEN,
  token_not_yet_valid: INVALID_TOKEN,
  token_claims_invalid: INVALID_TOKEN,
  token_binding_unsupported: INVALID_TOKEN,
  token_revoked: INVALID_TOKEN,
  // A chain this resource does not accept makes the token unacceptable "for other reasons"
  // (RFC 6750 §3.1): no other scope would help, so not insufficient_scope.
  chain_too_deep: INVALID_TOKEN,
  chain_actor_not_allowed: INVALID_TOKEN,
  chain_actor_forbidden: INVALID_TOKEN,
  chain_refused: INVALID_TOKEN,
  scope_insufficient: { status: 403, error: 'insufficient_scope' },
  dpop_proof_required: INVALID_TOKEN,
  dpop_token_not_bound: INVALID_TOKEN,
  dpop_key_mismatch: INVALID_TOKEN,
  dpop_proof_invalid: INVALID_PROOF,
  dpop_proof_replayed: INVALID_PROOF,
  dpop_proof_stale: INVALID_PROOF,
  dpop_method_mismatch: INVALID_PROOF,
  dpop_url_mismatch: INVALID_PROOF,
  dpop_ath_mismatch: INVALID_PROOF,
  jwks_unavailable: { status: 503 },
};

export class AgentTokenError extends Error {
  override readonly name = 'AgentTokenError';
  readonly code: AgentTokenErrorCode;
  /** The HTTP status to answer with. */
  readonly status: number;
  /** The challenge's `error`, when there is one. */
  readonly error: ChallengeError | undefined;
  /** For `scope_insufficient`: the scopes the request needs (the challenge's `scope`). */
  readonly requiredScopes: readonly string[] | undefined;

  constructor(
    code: AgentTokenErrorCode,
    message: string,
    options: { cause?: unknown; requiredScopes?: readonly string[] } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = ANSWERS[code].status;
    this.error = ANSWERS[code].error;
    this.requiredScopes = options.requiredScopes;
  }
}

export function isAgentTokenError(value: unknown): value is AgentTokenError {
  return value instanceof AgentTokenError;
}
