import { accept, refuse } from './refusal.js';
import type { AgentPolicy, Result, VerifiedToken } from './types.js';

/** What a token claims to confer: its audiences and its scopes. */
export interface ClaimedPrivilege {
  readonly aud: readonly string[];
  readonly scopes: readonly string[];
}

/** The registry entry of the agent that obtained a token (its `client_id`), as far as it matters here. */
export type Obtainer = Pick<AgentPolicy, 'status' | 'allowedScopes' | 'allowedAudiences'>;

/** What of a token's claimed privilege the registry still grants today. */
export interface StandingPrivilege {
  /** The obtainer is enabled and every `aud` of the token is still among its `allowedAudiences`. */
  readonly audienceStands: boolean;
  /** The token's scopes still among the obtainer's `allowedScopes`, in the token's order. */
  readonly scopes: readonly string[];
  /** The token's scopes the obtainer has lost since the token was issued. */
  readonly withdrawnScopes: readonly string[];
}

/**
 * A privilege change bites on the next request (ADR 0013). A token of this service was issued
 * within its obtainer's `allowedAudiences` and `allowedScopes` (RFC 6749 §3.3, RFC 8707 §2); it
 * confers them only as long as the registry still grants them to that agent. Nothing stands for
 * an obtainer that is missing, disabled or deleted.
 */
export function standingPrivilege(
  claimed: ClaimedPrivilege,
  obtainer: Obtainer | undefined,
): StandingPrivilege {
  const enabled = obtainer?.status === 'enabled';
  const audienceStands =
    enabled && claimed.aud.length > 0 && claimed.aud.every((aud) => obtainer.allowedAudiences.includes(aud));
  const scopes = enabled ? claimed.scopes.filter((scope) => obtainer.allowedScopes.includes(scope)) : [];
  return {
    audienceStands,
    scopes,
    withdrawnScopes: claimed.scopes.filter((scope) => !scopes.includes(scope)),
  };
}

/**
 * The subject token's scopes that may enter this hop's attenuation (RFC 8693 §2.1, §2.2.2): for one
 * of this service's tokens, only what its obtainer (`client_id`, found in `chainAgents`) is still
 * allowed, addressed to an audience that agent may still address. Scopes the obtainer lost are
 * dropped silently when the request does not name them, as attenuation drops what the actor or
 * audience cannot hold (SA-04); naming one, or losing them all, is refused. A trusted issuer's
 * token answers to its issuer's registration alone, which verification checks on every use.
 */
export function standingSubjectScopes(
  subject: VerifiedToken,
  requested: readonly string[] | null,
  chainAgents: ReadonlyMap<string, Obtainer>,
): Result<readonly string[]> {
  if (subject.origin.kind !== 'self') return accept(subject.scopes);
  const obtainer = subject.clientId === null ? undefined : chainAgents.get(subject.clientId);
  const standing = standingPrivilege(subject, obtainer);
  if (!standing.audienceStands) {
    return refuse(
      'audience_withdrawn',
      'invalid_request',
      'the agent that obtained the subject token may no longer address it to this client',
    );
  }
  const { scopes, withdrawnScopes } = standing;
  if (withdrawnScopes.length === 0) return accept(scopes);
  if (scopes.length === 0 || requested?.some((scope) => withdrawnScopes.includes(scope))) {
    return refuse(
      'scope_withdrawn',
      'invalid_scope',
      'a scope of the subject token has been withdrawn from the agent that obtained it',
    );
  }
  return accept(scopes);
}
