import { buildActClaim } from './act-chain.js';
import { checkActorToken } from './actor-token.js';
import { attenuateScopes } from './attenuation.js';
import { checkChainLiveness } from './chain-liveness.js';
import { checkClientEnabled } from './client-enabled.js';
import { checkDelegationCycle } from './delegation-cycle.js';
import { checkDelegationDepth } from './delegation-depth.js';
import { checkProofRequired, checkTokenHolder } from './dpop-binding.js';
import { checkGrantAllowed } from './grant-allowed.js';
import { hopLineage } from './hop-lineage.js';
import { checkImpersonationAllowed } from './impersonation.js';
import { tokenLifetime } from './lifetime.js';
import { checkMayAct } from './may-act.js';
import { accept } from './refusal.js';
import { standingSubjectScopes } from './standing-privilege.js';
import { checkSubjectAudience } from './subject-audience.js';
import { checkTargetAllowed, resolveTarget } from './target.js';
import { GRANT_TOKEN_EXCHANGE, type ExchangeInput, type IssueDecision, type Result } from './types.js';

/**
 * The token-exchange policy (RFC 8693 §2), CONTRACT.md §3.2 as an ordered checklist. The first rule
 * that fails decides the refusal; when none fails, the claims of the new token and its lineage.
 */
export function evaluateExchange(input: ExchangeInput): Result<IssueDecision> {
  const { request, actorAgent, subject, actorToken, audience, chainAgents, serviceMaxDepth, proofJkt, now } =
    input;
  const { subjectAudienceAgents } = input;
  const actor = actorAgent.id;

  const refusal =
    // RFC 6749 §5.2 `invalid_client`: the actor is an enabled agent.
    checkClientEnabled(actorAgent) ??
    // RFC 6749 §5.2 `unauthorized_client`: the actor may use token exchange.
    checkGrantAllowed(actorAgent, GRANT_TOKEN_EXCHANGE) ??
    // RFC 9449 §5.2: an agent registered for DPoP-bound tokens sends a proof.
    checkProofRequired(actorAgent, proofJkt) ??
    // RFC 8693 §2.1 `subject_token`, RFC 8725 §3.9: it was issued to this actor...
    checkSubjectAudience(subject, actorAgent, subjectAudienceAgents) ??
    // ...and, when DPoP-bound, is presented by the holder of its key (RFC 9449 §6).
    checkTokenHolder(subject, 'subject_token', proofJkt) ??
    // RFC 8693 §2.2.2: a revoked token, or a chain with an inactive agent, is unacceptable.
    checkChainLiveness(subject, chainAgents) ??
    // RFC 8693 §2.1 `actor_token`: live, and it names the authenticated actor.
    checkActorToken(actorToken, actorAgent) ??
    checkTokenHolder(actorToken, 'actor_token', proofJkt) ??
    // RFC 8693 §4.4 `may_act`.
    checkMayAct(subject, actorAgent) ??
    // RFC 8693 §1.1: impersonation only for agents explicitly allowed it.
    checkImpersonationAllowed(request.impersonation, actorAgent) ??
    // RFC 8693 §4.1 chain policy: no agent twice, no deeper than every limit allows.
    checkDelegationCycle(subject, actorAgent) ??
    checkDelegationDepth({ subject, actorAgent, chainAgents, serviceMaxDepth });
  if (refusal !== null) return refusal;

  // ADR 0013: the subject token confers only what the registry still grants the agent that obtained it.
  const subjectScopes = standingSubjectScopes(subject, request.requestedScopes, chainAgents);
  if (!subjectScopes.ok) return subjectScopes;

  // RFC 8693 §2.1 `audience` / `resource`, RFC 8707 §2: exactly one registered, allowed target.
  const target = resolveTarget(actorAgent, request.target);
  if (!target.ok) return target;
  const targetRefusal = checkTargetAllowed(actorAgent, target.value, audience);
  if (targetRefusal !== null) return targetRefusal;

  // RFC 8693 §2.1 `scope`, RFC 9700 §2.3: subject ∩ actor ∩ audience, never more.
  const scopes = attenuateScopes({
    requested: request.requestedScopes,
    subjectScopes: subjectScopes.value,
    actorAllowed: actorAgent.allowedScopes,
    audienceAccepted: audience?.acceptedScopes ?? [],
  });
  if (!scopes.ok) return scopes;

  // RFC 8693 §5: the new token never outlives the tokens it came from.
  const lifetime = tokenLifetime({
    now,
    ttlSeconds: actorAgent.tokenTtlSeconds,
    notAfter: actorToken === null ? [subject.exp] : [subject.exp, actorToken.exp],
  });
  if (!lifetime.ok) return lifetime;

  return accept({
    sub: subject.sub,
    aud: target.value,
    clientId: actor,
    scopes: scopes.value,
    // RFC 8693 §4.1: newest actor outermost; impersonation issues no `act`.
    act: request.impersonation ? null : buildActClaim([...subject.actors, actor]),
    // One chain id for every token derived from one root token of this service.
    ...hopLineage(subject, actor),
    iat: lifetime.value.iat,
    exp: lifetime.value.exp,
    impersonation: request.impersonation,
    // RFC 9449 §6: bound to the key of this request's proof, whatever bound the subject token.
    jkt: proofJkt,
  });
}
