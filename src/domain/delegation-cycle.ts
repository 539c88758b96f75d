import { chainParticipants } from './chain-liveness.js';
import { refuse } from './refusal.js';
import type { AgentPolicy, Refusal, VerifiedToken } from './types.js';

/**
 * No agent may appear twice in one chain (A→B→A, DC-06): neither the actor of this hop, nor an agent
 * an external token's `act` chain already repeats. RFC 8693 §4.1 records the chain; the rule is
 * local policy.
 */
export function checkDelegationCycle(subject: VerifiedToken, actorAgent: AgentPolicy): Refusal | null {
  const chain = [...(subject.subjectIsAgent ? [subject.sub] : []), ...subject.actors];
  const repeats = new Set(chain).size !== chain.length;
  if (repeats || chainParticipants(subject).includes(actorAgent.id)) {
    return refuse('delegation_cycle', 'invalid_request', 'this client is already in the delegation chain');
  }
  return null;
}
