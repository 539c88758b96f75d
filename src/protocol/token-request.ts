/**
 * One token-endpoint request as the grant handlers see it (ADR 0027): the authenticated agent, the
 * grant's parameters, what the DPoP check needs, and what the answer carries. The HTTP layer
 * (http/token-endpoint.ts) builds it after client authentication and sends what the grant leaves.
 */
import type { AuditRecord } from '../infra/lineage-store.js';
import type { AgentRecord } from '../infra/registry.js';
import type { Params } from './exchange-request.js';

/** RFC 8693 §2.2.1 and RFC 6749 §5.1: the successful answer. */
export interface TokenResponse {
  readonly access_token: string;
  readonly issued_token_type: string;
  readonly token_type: string;
  readonly expires_in: number;
  readonly scope?: string;
}

export interface TokenRequest {
  /** The authenticated agent (client authentication is done before any grant runs). */
  readonly agent: AgentRecord;
  /** The grant's own parameters and the client-authentication ones; nothing else. */
  readonly params: Params;
  /** Every `DPoP` header value as sent (RFC 9449 §4.3 check 1 needs to see repeats). */
  readonly dpopProofs: readonly string[] | undefined;
  /** Headers of the answer (DPoP-Nonce, Retry-After), whatever it is. */
  readonly responseHeaders: Map<string, string>;
  /** The token answer, once a grant issued one. */
  body: TokenResponse | null;
  /** The decision's audit record, once a grant wrote it (so nothing audits the request twice). */
  audited: AuditRecord | null;
}
