import { chainParticipants } from './chain-liveness.js';
import { refuse } from './refusal.js';
import type { AgentPolicy, Refusal, VerifiedToken } from './types.js';

export interface DelegationDepthInput {
  readonly subject: VerifiedToken;
  readonly actorAgent: AgentPolicy;
  readonly chainAgents: ReadonlyMap<string, AgentPolicy>;
  readonly serviceMaxDepth: number;
}

/**
 * The number of actors in the `act` chain after this hop (RFC 8693 §4.1). An impersonated hop
 * still counts: it hides the actor from the token, not from the chain's length, which lineage
 * keeps for this service's own tokens.
 */
export function depthAfterHop(subject: VerifiedToken): number {
  return Math.max(subject.actors.length, subject.lineage?.depth ?? 0) + 1;
}

/**
 * The depth limit a chain carries from outside the registry: its trusted issuer's
 * `maxDelegationDepth`, kept in lineage so that it binds every later hop, not only the first.
 */
export function inheritedDepthLimit(subject: VerifiedToken): number | null {
  const limits = [
    subject.origin.kind === 'trusted_issuer' ? subject.origin.maxDelegationDepth : null,
    subject.lineage?.depthLimit ?? null,
  ].filter((limit): limit is number => limit !== null);
  return limits.length > 0 ? Math.min(...limits) : null;
}

/**
 * Local policy on RFC 8693 §4.1 chains: the chain after this hop may be no deeper than the
 * smallest limit of the service, the actor, every agent already in the chain, and the trusted
 * issuer of the subject token. Agents missing from `chainAgents` are the chain-liveness rule's
 * concern.
 */
export function checkDelegationDepth(input: DelegationDepthInput): Refusal | null {
  const { subject, actorAgent, chainAgents, serviceMaxDepth } = input;
  const limits = [serviceMaxDepth, actorAgent.maxDelegationDepth];
  for (const id of chainParticipants(subject)) {
    const agent = chainAgents.get(id);
    if (agent !== undefined) limits.push(agent.maxDelegationDepth);
  }
  const inherited = inheritedDepthLimit(subject);
  if (inherited !== null) limits.push(inherited);
  if (depthAfterHop(subject) <= Math.min(...limits)) return null;
  return refuse('delegation_too_deep', 'invalid_request', 'delegation chain would exceed the allowed depth');
}
