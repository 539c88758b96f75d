/**
 * Why a client authentication failed, for the audit log only. Every endpoint that authenticates
 * clients (token, introspection, revocation) answers each such failure the same way — 401
 * `invalid_client`, "client authentication failed" — so an anonymous caller learns neither
 * whether an agent id exists, nor whether it is enabled, nor which method it uses (RFC 6749 §5.2,
 * SECURITY-CASES CA-01…CA-10). The operator needs the exact rule: the audit row's description
 * holds a stable reason code and the precise detail, `client_assertion_audience: client assertion
 * aud must be the issuer`.
 *
 * The details are the messages of ClientAuthenticator, client-assertion-claims.ts, workload
 * credentials and jose, which carry no codes of their own. One classifier maps them onto the
 * codes, so the same failure reads the same at every endpoint; a detail it does not know keeps the
 * generic code and its full text.
 */
import { decodeJwt } from 'jose';
import type { AgentStatus } from '../domain/types.js';

/** The one public description of a refused client authentication. */
export const CLIENT_AUTHENTICATION_FAILED = 'client authentication failed';

/** Stable reason codes; operators filter on them, so never rename one, only add. */
export type ClientAuthFailureReason =
  | 'client_authentication_missing'
  | 'client_id_malformed'
  | 'client_unknown'
  | 'client_disabled'
  | 'client_deleted'
  | 'auth_method_mismatch'
  | 'client_secret_mismatch'
  | 'client_keys_unavailable'
  | 'client_assertion_malformed'
  | 'client_assertion_typ'
  | 'client_assertion_alg'
  | 'client_assertion_issuer'
  | 'client_assertion_subject'
  | 'client_assertion_audience'
  | 'client_assertion_expired'
  | 'client_assertion_jti'
  | 'client_assertion_not_yet_valid'
  | 'client_assertion_lifetime'
  | 'client_assertion_signature'
  | 'client_assertion_replayed'
  | 'workload_issuer_unknown'
  | 'workload_identity_unbound'
  | 'workload_binding_mismatch'
  | 'client_authentication_failed';

/** Details of a client that is not there to authenticate (oidc-provider says "client not found"). */
export const CLIENT_NOT_FOUND = 'client not found';

/** In order: the first pattern that matches a detail names its reason. */
const DETAIL_PATTERNS: readonly (readonly [RegExp, ClientAuthFailureReason])[] = [
  [/no client authentication|client certificate was not provided/, 'client_authentication_missing'],
  // ADR 0023: workload credentials.
  [/trust domain is not registered|cluster is not registered/, 'workload_issuer_unknown'],
  [/bound to this workload identity/, 'workload_identity_unbound'],
  [/kubernetes\.io claim/, 'workload_binding_mismatch'],
  [/control character/, 'client_id_malformed'],
  [/client not found/, 'client_unknown'],
  [/client is disabled/, 'client_disabled'],
  [/client is deleted/, 'client_deleted'],
  [/must only be used once|replay/, 'client_assertion_replayed'],
  [/does not match the registered/, 'auth_method_mismatch'],
  [/secret/, 'client_secret_mismatch'],
  [/usable keys/, 'client_keys_unavailable'],
  [/\btyp\b/, 'client_assertion_typ'],
  [/\balg\b/, 'client_assertion_alg'],
  [/\baud\b|\baudience\b/, 'client_assertion_audience'],
  [/\biss\b/, 'client_assertion_issuer'],
  [/\bsub\b/, 'client_assertion_subject'],
  [/lifetime/, 'client_assertion_lifetime'],
  [/\bjti\b/, 'client_assertion_jti'],
  [/\bexp\b|expir/, 'client_assertion_expired'],
  [/\biat\b|\bnbf\b|not active|future/, 'client_assertion_not_yet_valid'],
  [/signature|applicable key/, 'client_assertion_signature'],
  [/assertion|jwt|json|base64|format|invalid compact/, 'client_assertion_malformed'],
];

/** The reason code of a failure detail (an error message of either source). */
export function clientAuthFailureReason(detail: string): ClientAuthFailureReason {
  const text = detail.toLowerCase();
  for (const [pattern, reason] of DETAIL_PATTERNS) if (pattern.test(text)) return reason;
  return 'client_authentication_failed';
}

/** The precise detail of a refused client: unknown, disabled or deleted, by its registry status. */
export function standingDetail(status: AgentStatus | null): string {
  switch (status) {
    case 'disabled':
      return 'client is disabled';
    case 'deleted':
      return 'client is deleted';
    default:
      return CLIENT_NOT_FOUND;
  }
}

/** The audit description of a failed client authentication: `<reason>: <detail>`. */
export function clientAuthFailureDescription(detail: string): string {
  return `${clientAuthFailureReason(detail)}: ${detail}`;
}

/** RFC 7617 Basic credentials' user name, form-urldecoded (RFC 6749 §2.3.1); null if malformed. */
function basicUser(authorization: string): string | null {
  const basic = /^basic\s+([A-Za-z0-9+/=]+)$/i.exec(authorization);
  if (!basic?.[1]) return null;
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const separator = decoded.indexOf(':');
  if (separator <= 0) return null;
  try {
    return decodeURIComponent(decoded.slice(0, separator).replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

/**
 * The client a request claims to be, for the audit log: the Basic user name, else `client_id` in
 * the body, else the `sub` of a client assertion (unverified). Never proof of identity; the audit
 * writer caps and cleans it (domain/audit-field.ts).
 */
export function claimedClientId(
  authorization: string | undefined,
  params: Readonly<Record<string, unknown>>,
): string | null {
  const fromBasic = authorization ? basicUser(authorization) : null;
  if (fromBasic !== null) return fromBasic;
  const clientId = Object.hasOwn(params, 'client_id') ? params.client_id : undefined;
  if (typeof clientId === 'string') return clientId;
  const assertion = Object.hasOwn(params, 'client_assertion') ? params.client_assertion : undefined;
  if (typeof assertion !== 'string') return null;
  try {
    const { sub } = decodeJwt(assertion);
    return typeof sub === 'string' ? sub : null;
  } catch {
    return null;
  }
}
