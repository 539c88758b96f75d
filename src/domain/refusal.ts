import type { OAuthErrorCode, Refusal, Result, RuleCode } from './types.js';

/**
 * The OAuth error each rule answers with (RFC 6749 §5.2, RFC 8693 §2.2.2, RFC 8707 §2). `null`:
 * the rule is not answered by an OAuth error response (a grant, or the edge's 429 / 503).
 * `invalid_parameters` answers `invalid_request`, except a malformed `scope`, which RFC 6749 §5.2
 * answers with `invalid_scope`.
 */
export const RULE_ERRORS: Readonly<Record<RuleCode, OAuthErrorCode | null>> = Object.freeze({
  granted: null,
  client_authentication_failed: 'invalid_client',
  grant_type_not_allowed: 'unauthorized_client',
  invalid_parameters: 'invalid_request',
  unsupported_requested_token_type: 'invalid_request',
  subject_token_invalid: 'invalid_request',
  subject_token_wrong_audience: 'invalid_request',
  subject_token_revoked: 'invalid_request',
  chain_agent_inactive: 'invalid_request',
  actor_token_invalid: 'invalid_request',
  actor_token_subject_mismatch: 'invalid_request',
  may_act_mismatch: 'invalid_request',
  delegation_too_deep: 'invalid_request',
  delegation_cycle: 'invalid_request',
  target_missing: 'invalid_target',
  target_not_registered: 'invalid_target',
  target_not_allowed: 'invalid_target',
  scope_escalation: 'invalid_scope',
  scope_empty: 'invalid_scope',
  impersonation_not_allowed: 'invalid_request',
  rate_limited: null,
  unavailable: null,
  token_revoked: null,
  revocation_not_permitted: null,
  security_event_delivered: null,
  security_event_delivery_failed: null,
  security_event_abandoned: null,
  dpop_proof_invalid: 'invalid_dpop_proof',
  dpop_proof_replayed: 'invalid_dpop_proof',
  dpop_proof_missing: 'invalid_dpop_proof',
  dpop_nonce_missing: 'use_dpop_nonce',
  dpop_nonce_invalid: 'use_dpop_nonce',
  subject_token_binding_mismatch: 'invalid_request',
  actor_token_binding_mismatch: 'invalid_request',
  audience_withdrawn: 'invalid_request',
  scope_withdrawn: 'invalid_scope',
  authorization_grant_invalid: 'invalid_grant',
  authorization_grant_replayed: 'invalid_grant',
  peer_not_registered: 'invalid_grant',
  peer_client_not_allowed: 'unauthorized_client',
  trust_domain_mismatch: 'invalid_target',
  txn_context_conflict: 'invalid_request',
});

/**
 * Runs of spaces and of anything outside the RFC 6749 §5.2 `error_description` character set
 * (%x20-21 / %x23-5B / %x5D-7E).
 */
const SPACES_AND_OUTSIDE_CHARSET = /[^\x21\x23-\x5B\x5D-\x7E]+/g;

/**
 * A refusal naming the rule that failed. The description is public: it is forced onto one line of
 * the RFC 6749 §5.2 character set, so no CR, LF or TAB can reach a response or a log line.
 */
export function refuse(rule: RuleCode, error: OAuthErrorCode, description: string): Refusal {
  return Object.freeze({
    ok: false,
    rule,
    error,
    description: description.replace(SPACES_AND_OUTSIDE_CHARSET, ' ').trim(),
  });
}

export function accept<T>(value: T): Result<T> {
  return Object.freeze({ ok: true, value });
}
