import { refuse } from './refusal.js';
import type { AgentPolicy, Refusal, VerifiedToken } from './types.js';

/**
 * The subject token must have been issued to the actor (RFC 8725 §3.9, RFC 7519 §4.1.3): its `aud`
 * names the actor, or, for a trusted issuer only, one of the values by which that issuer addresses
 * agent-sts itself. A token addressed to another agent belongs to that agent alone (ST-07), even
 * when it is addressed to agent-sts too: `addressedAgents` are the registered agents (tombstones
 * included) its `aud` names.
 */
export function checkSubjectAudience(
  subject: VerifiedToken,
  actorAgent: AgentPolicy,
  addressedAgents: readonly string[],
): Refusal | null {
  if (subject.aud.includes(actorAgent.id)) return null;
  const { origin } = subject;
  if (
    origin.kind === 'trusted_issuer' &&
    subject.aud.some((aud) => origin.audiences.includes(aud)) &&
    !subject.aud.some((aud) => addressedAgents.includes(aud))
  ) {
    return null;
  }
  return refuse(
    'subject_token_wrong_audience',
    'invalid_request',
    'subject token was not issued to this client',
  );
}
