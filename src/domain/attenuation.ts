import { accept, refuse } from './refusal.js';
import type { Result } from './types.js';

export interface ScopeAttenuationInput {
  /** Scopes the request asked for; `null` when `scope` was absent. */
  readonly requested: readonly string[] | null;
  /** The subject token's scopes; `null` when there is no subject token (client_credentials). */
  readonly subjectScopes: readonly string[] | null;
  /** The actor's `allowedScopes`. */
  readonly actorAllowed: readonly string[];
  /** The target's accepted scopes (a resource's `scopes`; an agent's own `allowedScopes`). */
  readonly audienceAccepted: readonly string[];
}

/**
 * The rule that stops scope escalation (RFC 6749 §3.3, RFC 9700 §2.3, SA-03, SA-04). A hop may
 * hold only what the subject had, the actor may hold and the target accepts. Asking for anything
 * outside that fails the whole request rather than being silently dropped; asking for nothing
 * grants everything that remains, never "empty means all". Order: as requested, else the actor's.
 */
export function attenuateScopes(input: ScopeAttenuationInput): Result<string[]> {
  const { requested, subjectScopes, actorAllowed, audienceAccepted } = input;
  const available = actorAllowed.filter(
    (scope) => audienceAccepted.includes(scope) && (subjectScopes === null || subjectScopes.includes(scope)),
  );
  if (requested !== null && !requested.every((scope) => available.includes(scope))) {
    return refuse(
      'scope_escalation',
      'invalid_scope',
      'requested scope exceeds what the subject, client and audience allow',
    );
  }
  const granted = [...new Set(requested ?? available)];
  if (granted.length === 0) {
    return refuse('scope_empty', 'invalid_scope', 'no scope remains for this subject, client and audience');
  }
  return accept(granted);
}
