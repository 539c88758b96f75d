import { accept, refuse } from './refusal.js';
import type { AgentPolicy, AudienceEntry, Refusal, Result } from './types.js';

/**
 * RFC 8707 §2 / RFC 8693 §2.1: the one target of this token. When none is given, an agent with a
 * single allowed audience means that one; otherwise the request is ambiguous (RFC 9068 §3).
 */
export function resolveTarget(agent: AgentPolicy, requested: string | null): Result<string> {
  if (requested !== null) return accept(requested);
  const [only, ...others] = agent.allowedAudiences;
  if (only !== undefined && others.length === 0) return accept(only);
  return refuse('target_missing', 'invalid_target', 'an audience or resource is required');
}

/**
 * RFC 8693 §2.2.2 `invalid_target`: the target must be a registered, enabled audience and one of
 * the agent's `allowedAudiences`, by exact string match (no wildcards, AD-05, SA-01).
 */
export function checkTargetAllowed(
  agent: AgentPolicy,
  target: string,
  audience: AudienceEntry | null,
): Refusal | null {
  const registered =
    audience !== null && audience.id === target && (audience.kind === 'resource' || audience.enabled);
  if (!registered) {
    return refuse('target_not_registered', 'invalid_target', 'requested target is not a registered audience');
  }
  if (!agent.allowedAudiences.includes(target)) {
    return refuse('target_not_allowed', 'invalid_target', 'requested target is not allowed for this client');
  }
  return null;
}
