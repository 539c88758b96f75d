import { refuse } from './refusal.js';
import type { AgentPolicy, Refusal } from './types.js';

/**
 * RFC 8693 §1.1: impersonation (a derived token with no `act`) hides the actor from the next hop,
 * so only an agent an admin flagged `mayImpersonate` may ask for it (DC-09).
 */
export function checkImpersonationAllowed(impersonation: boolean, actorAgent: AgentPolicy): Refusal | null {
  if (!impersonation || actorAgent.mayImpersonate) return null;
  return refuse(
    'impersonation_not_allowed',
    'invalid_request',
    'impersonation is not allowed for this client',
  );
}
