import { refuse } from './refusal.js';
import type { AgentPolicy, Refusal, VerifiedToken } from './types.js';

/**
 * RFC 8693 §2.1 `actor_token`, when given, must be live and speak for the authenticated agent
 * itself: another agent's actor token cannot be spliced into this hop (DC-01, DC-02). Its `aud` is
 * deliberately not constrained (CONTRACT §3.2).
 */
export function checkActorToken(actorToken: VerifiedToken | null, actorAgent: AgentPolicy): Refusal | null {
  if (actorToken === null) return null;
  if (actorToken.revoked) {
    return refuse('actor_token_invalid', 'invalid_request', 'actor token has been revoked');
  }
  if (actorToken.sub !== actorAgent.id) {
    return refuse(
      'actor_token_subject_mismatch',
      'invalid_request',
      'actor token does not identify this client',
    );
  }
  return null;
}
