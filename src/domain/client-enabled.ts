import { refuse } from './refusal.js';
import type { AgentPolicy, Refusal } from './types.js';

/**
 * RFC 6749 §5.2: only an enabled agent is a client. Authentication refuses disabled and deleted
 * agents first; this rule keeps a stale registry entry from ever being granted a token.
 */
export function checkClientEnabled(agent: AgentPolicy): Refusal | null {
  if (agent.status === 'enabled') return null;
  return refuse('client_authentication_failed', 'invalid_client', 'client is not enabled');
}
