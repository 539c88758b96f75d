import { refuse } from './refusal.js';
import type { AgentPolicy, GrantType, Refusal } from './types.js';

/** RFC 6749 §5.2 `unauthorized_client`: the agent is not registered for this grant type. */
export function checkGrantAllowed(agent: AgentPolicy, grantType: GrantType): Refusal | null {
  if (agent.grantTypes.includes(grantType)) return null;
  return refuse('grant_type_not_allowed', 'unauthorized_client', 'grant type is not allowed for this client');
}
