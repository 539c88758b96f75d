/**
 * The vocabulary of the pure domain core. Nothing here touches HTTP, the database, the clock or
 * randomness: callers pass everything in (DESIGN.md "How one exchange flows").
 */

/** OAuth error codes a domain refusal can map to (RFC 6749 §5.2, RFC 8693 §2.2.2, RFC 8707). */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'unauthorized_client'
  | 'invalid_target'
  | 'invalid_scope'
  /** RFC 7523 §3.1: a JWT authorization grant that is invalid, or unacceptable here. */
  | 'invalid_grant'
  /** RFC 9449 §5: a DPoP proof is invalid, or missing where one is required. */
  | 'invalid_dpop_proof'
  /** RFC 9449 §8: the DPoP proof must carry the server's current nonce. */
  | 'use_dpop_nonce';

/**
 * Stable names of the rules that decide a token request. The audit log stores these; never
 * rename one, only add.
 */
export type RuleCode =
  | 'granted'
  | 'client_authentication_failed'
  | 'grant_type_not_allowed'
  | 'invalid_parameters'
  | 'unsupported_requested_token_type'
  | 'subject_token_invalid'
  | 'subject_token_wrong_audience'
  | 'subject_token_revoked'
  | 'chain_agent_inactive'
  | 'actor_token_invalid'
  | 'actor_token_subject_mismatch'
  | 'may_act_mismatch'
  | 'delegation_too_deep'
  | 'delegation_cycle'
  | 'target_missing'
  | 'target_not_registered'
  | 'target_not_allowed'
  | 'scope_escalation'
  | 'scope_empty'
  | 'impersonation_not_allowed'
  | 'rate_limited'
  | 'unavailable'
  /** A token and its descendants were revoked (revocation endpoint or admin API). */
  | 'token_revoked'
  /** A revocation request named a token the caller may not revoke; nothing changed. */
  | 'revocation_not_permitted'
  /** A revocation Security Event Token reached its receiver (RFC 8935 push or RFC 8936 ack; ADR 0026). */
  | 'security_event_delivered'
  /** A push of a revocation SET failed; it is retried later. */
  | 'security_event_delivery_failed'
  /** A revocation SET was refused by its receiver or ran out of attempts: no further delivery. */
  | 'security_event_abandoned'
  /** RFC 9449 §4.3: the request's DPoP proof fails a check. */
  | 'dpop_proof_invalid'
  /** RFC 9449 §11.1: the DPoP proof's `jti` was already used with its key. */
  | 'dpop_proof_replayed'
  /** RFC 9449 §5.2: an agent registered for DPoP-bound tokens sent no proof. */
  | 'dpop_proof_missing'
  /** RFC 9449 §8: server nonces are required and the DPoP proof carries none. */
  | 'dpop_nonce_missing'
  /** RFC 9449 §8: the DPoP proof's nonce is not one this service issued, or has expired. */
  | 'dpop_nonce_invalid'
  /** RFC 9449 §6: the subject token is bound to a key the request does not prove. */
  | 'subject_token_binding_mismatch'
  /** RFC 9449 §6: the actor token is bound to a key the request does not prove. */
  | 'actor_token_binding_mismatch'
  /**
   * ADR 0013: the agent that obtained a presented token (subject token, admin credential) is no
   * longer allowed its audience.
   */
  | 'audience_withdrawn'
  /**
   * ADR 0013: a scope the request relies on (a named scope, every scope, or `sts:admin`) was
   * withdrawn from the agent that obtained the presented token.
   */
  | 'scope_withdrawn'
  /** RFC 7523 §3: a JWT authorization grant fails a check (signature, `aud`, times, claims, `typ`). */
  | 'authorization_grant_invalid'
  /** RFC 7523 §3 point 7: the grant's `jti` was already presented here. */
  | 'authorization_grant_replayed'
  /** ADR 0025: the grant's issuer is not a registered peer domain that issues grants for this service. */
  | 'peer_not_registered'
  /** ADR 0025: the peer domain does not let this client redeem its grants. */
  | 'peer_client_not_allowed'
  /** ADR 0024: a Txn-Token request names an audience other than the configured Trust Domain. */
  | 'trust_domain_mismatch'
  /** ADR 0024: a replacement Txn-Token would change a context value its input asserts. */
  | 'txn_context_conflict';

/** A typed refusal: the audit log stores `rule`, the client sees `error` and `description`. */
export interface Refusal {
  readonly ok: false;
  readonly rule: RuleCode;
  readonly error: OAuthErrorCode;
  /** Public, single-line, never echoes token contents. */
  readonly description: string;
}

export type Result<T> = { readonly ok: true; readonly value: T } | Refusal;

export type AgentStatus = 'enabled' | 'disabled' | 'deleted';

export const GRANT_CLIENT_CREDENTIALS = 'client_credentials';
export const GRANT_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
/** RFC 7523 §2.1: a JWT authorization grant (here: from a peer domain, ADR 0025). */
export const GRANT_JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export type GrantType =
  typeof GRANT_CLIENT_CREDENTIALS | typeof GRANT_TOKEN_EXCHANGE | typeof GRANT_JWT_BEARER;

/** What the policy needs to know of an agent (registry entry). */
export interface AgentPolicy {
  readonly id: string;
  readonly status: AgentStatus;
  readonly allowedScopes: readonly string[];
  readonly allowedAudiences: readonly string[];
  readonly grantTypes: readonly string[];
  readonly maxDelegationDepth: number;
  readonly tokenTtlSeconds: number;
  readonly mayImpersonate: boolean;
  /** RFC 9449 §5.2 `dpop_bound_access_tokens`: every token request must carry a DPoP proof. */
  readonly dpopBoundAccessTokens: boolean;
}

/** An audience a token may be issued for: an agent or a resource, as registered. */
export type AudienceEntry =
  | {
      readonly kind: 'agent';
      readonly id: string;
      readonly acceptedScopes: readonly string[];
      readonly enabled: boolean;
    }
  | { readonly kind: 'resource'; readonly id: string; readonly acceptedScopes: readonly string[] };

/** RFC 8693 §4.1 `act` claim: newest actor outermost. Only identity members are kept (TO-04). */
export interface ActClaim {
  readonly sub: string;
  readonly act?: ActClaim;
}

/** Where a verified input token came from. */
export type TokenOrigin =
  | { readonly kind: 'self' }
  | {
      readonly kind: 'trusted_issuer';
      readonly issuer: string;
      /** The `aud` values by which this issuer addresses agent-sts itself. */
      readonly audiences: readonly string[];
      readonly maxDelegationDepth: number | null;
    };

/** RFC 7800 `cnf` of an input token, as far as this service can check it. */
export type TokenBinding =
  | { readonly kind: 'none' }
  /** RFC 9449 §6: bound to the DPoP key with this RFC 7638 thumbprint (`cnf.jkt`). */
  | { readonly kind: 'jkt'; readonly jkt: string }
  /** Bound by a confirmation method this service cannot check (an mTLS certificate, a raw key). */
  | { readonly kind: 'unsupported' };

/**
 * A subject or actor token whose signature, algorithm and times the protocol layer has already
 * verified. Claims are normalised: `aud` is always an array, `scopes` a list (from `scope` or
 * `scp`), `actors` the `act` chain flattened oldest first (so `actors.at(-1)` is the newest).
 */
export interface VerifiedToken {
  readonly origin: TokenOrigin;
  readonly sub: string;
  readonly aud: readonly string[];
  readonly scopes: readonly string[];
  /** Seconds since the epoch. */
  readonly exp: number;
  readonly jti: string | null;
  readonly txn: string | null;
  readonly clientId: string | null;
  /** Agents in the `act` chain, oldest first. Empty when the token has no `act`. */
  readonly actors: readonly string[];
  /** RFC 8693 §4.4: who may act for this subject (`may_act.sub`), when the claim is present. */
  readonly mayActSubjects: readonly string[] | null;
  /** For this service's own tokens: revoked (itself or by cascade). Always false for external tokens. */
  readonly revoked: boolean;
  /** True when this is a self-issued token whose `sub` is an agent (the chain began with an agent's own token). */
  readonly subjectIsAgent: boolean;
  /** The key, if any, the token is bound to: only its holder may present it. */
  readonly binding: TokenBinding;
  /**
   * For this service's own tokens, the chain as lineage recorded it when the token was issued:
   * every agent in it, oldest first, including an actor an impersonated hop hid from `act`
   * (ADR 0005), and its depth. Absent for external tokens.
   */
  readonly lineage?: TokenLineage;
}

/** What lineage recorded of one of this service's tokens. */
export interface TokenLineage {
  readonly chainAgents: readonly string[];
  readonly depth: number;
  /** The depth limit the chain inherited from its trusted issuer, if any. */
  readonly depthLimit: number | null;
  /** The trusted issuer whose token started the chain; absent or null when it began here. */
  readonly rootIssuer?: string | null;
  /**
   * ADR 0025: the chain crossed in from a peer domain (`rootIssuer` is that peer). Its foreign
   * actors (qualified names, identity-chaining.ts) answer to their own domain, not this registry.
   */
  readonly rootIsPeer?: boolean;
}

/** The parsed token-exchange request (RFC 8693 §2.1), after syntax checks. */
export interface ExchangeRequest {
  /** Exactly one target (`audience` or `resource`). Null when none was given. */
  readonly target: string | null;
  /** Requested scopes; null when `scope` was absent. */
  readonly requestedScopes: readonly string[] | null;
  /** True when the actor asked for impersonation (no `act` in the result). */
  readonly impersonation: boolean;
}

export interface ExchangeInput {
  readonly request: ExchangeRequest;
  readonly actorAgent: AgentPolicy;
  readonly subject: VerifiedToken;
  readonly actorToken: VerifiedToken | null;
  /** The registry entry of the target, or null when it is not registered. */
  readonly audience: AudienceEntry | null;
  /**
   * Registry entries of every agent already in the chain (actors, and the subject when
   * `subjectIsAgent`), by id. A missing id means no such agent was ever registered.
   */
  readonly chainAgents: ReadonlyMap<string, AgentPolicy>;
  /**
   * The ids in the subject token's `aud` that name registered agents (enabled, disabled or
   * deleted). Only a trusted issuer's token addressed to agent-sts needs them; empty otherwise.
   */
  readonly subjectAudienceAgents: readonly string[];
  /** Service-wide limit on delegation depth. */
  readonly serviceMaxDepth: number;
  /** RFC 7638 thumbprint of the key that signed the request's valid DPoP proof; null without one. */
  readonly proofJkt: string | null;
  /** Seconds since the epoch. */
  readonly now: number;
}

/** What to issue: the claims the protocol layer signs, and what lineage records. */
export interface IssueDecision {
  readonly sub: string;
  readonly aud: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly act: ActClaim | null;
  /** Number of actors in `act` (0 for an agent's own token). */
  readonly depth: number;
  readonly iat: number;
  readonly exp: number;
  /** Chain id to reuse, or null to start a new chain. */
  readonly txn: string | null;
  readonly parentJti: string | null;
  /** Every agent in the chain after this hop, oldest first, including this actor. */
  readonly chainAgents: readonly string[];
  readonly impersonation: boolean;
  /** A depth limit from outside the registry (trusted issuer) that every later hop inherits. */
  readonly depthLimit: number | null;
  /** The trusted issuer whose token started the chain (`iss`), inherited by every later hop. */
  readonly rootIssuer: string | null;
  /** RFC 9449 §6: the thumbprint the token is bound to (`cnf.jkt`); null for a Bearer token. */
  readonly jkt: string | null;
}

export interface ClientCredentialsInput {
  readonly agent: AgentPolicy;
  readonly target: string | null;
  readonly requestedScopes: readonly string[] | null;
  readonly audience: AudienceEntry | null;
  /** RFC 7638 thumbprint of the key that signed the request's valid DPoP proof; null without one. */
  readonly proofJkt: string | null;
  readonly now: number;
}
