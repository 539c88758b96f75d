/**
 * The Txn-Token policy (draft-ietf-oauth-transaction-tokens, ADR 0024): RFC 8693 token exchange
 * with `requested_token_type=urn:ietf:params:oauth:token-type:txn_token`, as an ordered checklist
 * like `evaluateExchange`. The same delegation rules hold (chain liveness, `may_act`, cycles, depth,
 * attenuation, lifetime); what differs is the target (the one configured Trust Domain, which the
 * actor must hold among its `allowedAudiences`), the subject (a token issued to the actor, or a
 * Txn-Token of this Trust Domain to replace) and the context claims.
 */
import { buildActClaim } from './act-chain.js';
import { checkActorToken } from './actor-token.js';
import { attenuateScopes } from './attenuation.js';
import { checkChainLiveness } from './chain-liveness.js';
import { checkClientEnabled } from './client-enabled.js';
import { checkDelegationCycle } from './delegation-cycle.js';
import { checkDelegationDepth } from './delegation-depth.js';
import { checkProofRequired, checkTokenHolder } from './dpop-binding.js';
import { checkGrantAllowed } from './grant-allowed.js';
import { hopLineage, type HopLineage } from './hop-lineage.js';
import { tokenLifetime } from './lifetime.js';
import { checkMayAct } from './may-act.js';
import { accept, refuse } from './refusal.js';
import { standingSubjectScopes } from './standing-privilege.js';
import { checkSubjectAudience } from './subject-audience.js';
import {
  GRANT_TOKEN_EXCHANGE,
  type ActClaim,
  type AgentPolicy,
  type Refusal,
  type Result,
  type VerifiedToken,
} from './types.js';

export type JsonValue = string | number | boolean | null | readonly JsonValue[] | JsonObject;
export interface JsonObject {
  readonly [member: string]: JsonValue;
}

/** The context claims of a Txn-Token: `rctx` (the request's environment) and `tctx` (its details). */
export interface TransactionContext {
  readonly rctx: JsonObject | null;
  readonly tctx: JsonObject | null;
}

/** The parsed Txn-Token request ("Txn-Token Request"), after syntax checks. */
export interface TxnTokenRequest {
  /** The one `audience` (or `resource`) given; null when none was. */
  readonly target: string | null;
  /** `scope`: REQUIRED for a Txn-Token, the purpose of the transaction. */
  readonly requestedScopes: readonly string[] | null;
  readonly impersonation: boolean;
  /** `request_context`, a JSON object; null when absent. */
  readonly requestContext: JsonObject | null;
  /** `request_details`, a JSON object; null when absent. */
  readonly requestDetails: JsonObject | null;
}

export interface TxnTokenInput {
  readonly request: TxnTokenRequest;
  /** The configured Trust Domain: the `aud` of every Txn-Token. */
  readonly trustDomain: string;
  /** The configured Txn-Token lifetime in seconds. */
  readonly lifetimeSeconds: number;
  readonly actorAgent: AgentPolicy;
  readonly subject: VerifiedToken;
  /** When the subject is a Txn-Token of this service (a replacement), its context claims. */
  readonly replaced: TransactionContext | null;
  readonly actorToken: VerifiedToken | null;
  readonly chainAgents: ReadonlyMap<string, AgentPolicy>;
  readonly subjectAudienceAgents: readonly string[];
  readonly serviceMaxDepth: number;
  readonly proofJkt: string | null;
  /** Seconds since the epoch. */
  readonly now: number;
}

/** What to issue: the Txn-Token's claims, and what lineage records of it. */
export interface TxnTokenDecision extends TransactionContext, HopLineage {
  readonly sub: string;
  /** The Trust Domain. */
  readonly aud: string;
  /** The requesting workload (`req_wl`): this hop's actor. */
  readonly requester: string;
  readonly scopes: readonly string[];
  readonly act: ActClaim;
  readonly iat: number;
  readonly exp: number;
  readonly replacement: boolean;
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Structural equality of two JSON values, member order aside. */
export function sameJson(a: JsonValue, b: JsonValue): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    const right: readonly JsonValue[] = b;
    return (a as readonly JsonValue[]).every((item, index) => sameJson(item, right[index] as JsonValue));
  }
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    return keys.every((key) => Object.hasOwn(b, key) && sameJson(a[key] as JsonValue, b[key] as JsonValue));
  }
  return a === b;
}

/**
 * "Txn-Token as a subject_token": a replacement may add asserted values but never change one, since
 * the Trust Domain cannot tell a change that narrows from one that widens. A member asserted again
 * with the same value is no change. Returns the merged context, or false on a conflict.
 */
export function extendContext(base: JsonObject | null, added: JsonObject | null): JsonObject | null | false {
  if (added === null) return base;
  if (base === null) return added;
  for (const [key, value] of Object.entries(added)) {
    if (Object.hasOwn(base, key) && !sameJson(base[key] as JsonValue, value)) return false;
  }
  return { ...added, ...base };
}

/** The context of the new Txn-Token: the request's, or for a replacement, the input's extended. */
export function transactionContext(
  request: TxnTokenRequest,
  replaced: TransactionContext | null,
): Result<TransactionContext> {
  if (replaced === null) return accept({ rctx: request.requestContext, tctx: request.requestDetails });
  const rctx = extendContext(replaced.rctx, request.requestContext);
  const tctx = extendContext(replaced.tctx, request.requestDetails);
  if (rctx === false || tctx === false) {
    return refuse(
      'txn_context_conflict',
      'invalid_request',
      'a replacement Txn-Token may add context values but not change those of the Txn-Token it replaces',
    );
  }
  return accept({ rctx, tctx });
}

/**
 * "Txn-Token Request": the audience is the Trust Domain, and only an agent that holds it among its
 * `allowedAudiences` is a workload of the Trust Domain ("TTS Issuance Policies"). `scope` is
 * REQUIRED, and a Txn-Token always names the workload that requested it: no impersonation.
 */
export function checkTxnTokenRequest(
  request: TxnTokenRequest,
  actorAgent: AgentPolicy,
  trustDomain: string,
): Refusal | null {
  if (request.target !== trustDomain) {
    return refuse(
      'trust_domain_mismatch',
      'invalid_target',
      'a Txn-Token is issued only for the Trust Domain of this service',
    );
  }
  if (!actorAgent.allowedAudiences.includes(trustDomain)) {
    return refuse('target_not_allowed', 'invalid_target', 'this client may not request Txn-Tokens');
  }
  if (request.requestedScopes === null) {
    return refuse('invalid_parameters', 'invalid_request', 'scope is required for a Txn-Token');
  }
  if (request.impersonation) {
    return refuse(
      'impersonation_not_allowed',
      'invalid_request',
      'a Txn-Token always names the workload that requested it',
    );
  }
  return null;
}

/**
 * The subject is a token issued to the actor (RFC 8693 §2.1, as for any exchange) or, for a
 * replacement, a Txn-Token of this Trust Domain: its `aud` is the Trust Domain, not an agent.
 */
function checkTxnTokenSubject(input: TxnTokenInput): Refusal | null {
  const { subject, actorAgent, replaced, trustDomain, subjectAudienceAgents } = input;
  if (replaced === null) return checkSubjectAudience(subject, actorAgent, subjectAudienceAgents);
  if (subject.aud.length === 1 && subject.aud[0] === trustDomain) return null;
  return refuse(
    'subject_token_wrong_audience',
    'invalid_request',
    'subject Txn-Token is not for the Trust Domain of this service',
  );
}

export function evaluateTxnTokenRequest(input: TxnTokenInput): Result<TxnTokenDecision> {
  const { request, actorAgent, subject, actorToken, chainAgents, serviceMaxDepth, proofJkt, now } = input;
  const actor = actorAgent.id;

  const refusal =
    // RFC 6749 §5.2: an enabled agent allowed token exchange; DPoP as for any exchange (RFC 9449 §5.2).
    checkClientEnabled(actorAgent) ??
    checkGrantAllowed(actorAgent, GRANT_TOKEN_EXCHANGE) ??
    checkProofRequired(actorAgent, proofJkt) ??
    // Txn-Tokens draft, "Txn-Token Request" and "TTS Issuance Policies".
    checkTxnTokenRequest(request, actorAgent, input.trustDomain) ??
    // "Txn-Token Request Processing": the subject token is validated like any subject token.
    checkTxnTokenSubject(input) ??
    checkTokenHolder(subject, 'subject_token', proofJkt) ??
    // RFC 8693 §2.2.2; "Txn-Token as a subject_token": a revoked or dead chain is never replaced.
    checkChainLiveness(subject, chainAgents) ??
    checkActorToken(actorToken, actorAgent) ??
    checkTokenHolder(actorToken, 'actor_token', proofJkt) ??
    checkMayAct(subject, actorAgent) ??
    // RFC 8693 §4.1: the requesting workloads are the chain; no agent twice, no deeper than allowed.
    checkDelegationCycle(subject, actorAgent) ??
    checkDelegationDepth({ subject, actorAgent, chainAgents, serviceMaxDepth });
  if (refusal !== null) return refusal;

  const subjectScopes = standingSubjectScopes(subject, request.requestedScopes, chainAgents);
  if (!subjectScopes.ok) return subjectScopes;
  // "Scope Processing": never more than the subject token had, nor than the actor may hold. The
  // Trust Domain accepts whatever its workloads may hold.
  const scopes = attenuateScopes({
    requested: request.requestedScopes,
    subjectScopes: subjectScopes.value,
    actorAllowed: actorAgent.allowedScopes,
    audienceAccepted: actorAgent.allowedScopes,
  });
  if (!scopes.ok) return scopes;

  const context = transactionContext(request, input.replaced);
  if (!context.ok) return context;

  // "Txn-Token Lifetime": short, and (local policy, RFC 8693 §5) never beyond its inputs.
  const lifetime = tokenLifetime({
    now,
    ttlSeconds: input.lifetimeSeconds,
    notAfter: actorToken === null ? [subject.exp] : [subject.exp, actorToken.exp],
  });
  if (!lifetime.ok) return lifetime;

  return accept({
    sub: subject.sub,
    aud: input.trustDomain,
    requester: actor,
    scopes: scopes.value,
    act: buildActClaim([...subject.actors, actor]) ?? { sub: actor },
    // "Txn-Token as a subject_token": `txn` and `sub` never change; `txn` is the chain id.
    ...hopLineage(subject, actor),
    iat: lifetime.value.iat,
    exp: lifetime.value.exp,
    replacement: input.replaced !== null,
    rctx: context.value.rctx,
    tctx: context.value.tctx,
  });
}
