import { isQualifiedActor } from './foreign-actor.js';
import { refuse } from './refusal.js';
import type { AgentPolicy, Refusal, VerifiedToken } from './types.js';

/**
 * What places agents in a token's chain: a verified subject token, or one of this service's own
 * tokens wherever else it is presented (introspection, the admin API).
 */
export type ChainMembers = Pick<
  VerifiedToken,
  'origin' | 'sub' | 'subjectIsAgent' | 'actors' | 'clientId' | 'lineage'
>;

/**
 * Every agent the subject token's chain already holds, oldest first, each once: for one of this
 * service's own tokens, every agent lineage recorded (so an impersonating agent hidden from `act`
 * stays in the chain for every later hop); then the subject when it is an agent, the `act` chain,
 * and the `client_id` of one of this service's own tokens (the last actor, or the impersonating
 * agent of a token with no `act`).
 */
export function chainParticipants(subject: ChainMembers): string[] {
  const participants = [
    ...(subject.lineage?.chainAgents ?? []),
    ...(subject.subjectIsAgent ? [subject.sub] : []),
    ...subject.actors,
    ...(subject.origin.kind === 'self' && subject.clientId !== null ? [subject.clientId] : []),
  ];
  return [...new Set(participants)];
}

/**
 * The agents of the chain that answer to this registry: all of them, except, in a chain that
 * crossed in from a peer domain (ADR 0025), the foreign actors it vouched for, whose qualified
 * names (`agent@issuer`) no agent id here can take.
 */
export function localChainParticipants(subject: ChainMembers): string[] {
  const participants = chainParticipants(subject);
  if (subject.lineage?.rootIsPeer !== true) return participants;
  return participants.filter((id) => !isQualifiedActor(id));
}

/**
 * True when every id names an enabled agent: one that is disabled, deleted or was never
 * registered kills the chain it holds a place in (DC-07, AD-10).
 */
export function allAgentsEnabled(
  ids: readonly string[],
  agents: ReadonlyMap<string, Pick<AgentPolicy, 'status'>>,
): boolean {
  return ids.every((id) => agents.get(id)?.status === 'enabled');
}

/**
 * RFC 8693 §2.2.2: a revoked subject token, or one whose chain holds an agent that is disabled,
 * deleted or was never registered, is unacceptable (DC-07, AD-10).
 */
export function checkChainLiveness(
  subject: VerifiedToken,
  chainAgents: ReadonlyMap<string, AgentPolicy>,
): Refusal | null {
  if (subject.revoked) {
    return refuse('subject_token_revoked', 'invalid_request', 'subject token has been revoked');
  }
  if (!allAgentsEnabled(localChainParticipants(subject), chainAgents)) {
    return refuse(
      'chain_agent_inactive',
      'invalid_request',
      'an agent in the delegation chain is not active',
    );
  }
  return null;
}
