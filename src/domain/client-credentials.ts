import { attenuateScopes } from './attenuation.js';
import { checkClientEnabled } from './client-enabled.js';
import { checkProofRequired } from './dpop-binding.js';
import { checkGrantAllowed } from './grant-allowed.js';
import { tokenLifetime } from './lifetime.js';
import { accept } from './refusal.js';
import { checkTargetAllowed, resolveTarget } from './target.js';
import {
  GRANT_CLIENT_CREDENTIALS,
  type ClientCredentialsInput,
  type IssueDecision,
  type Result,
} from './types.js';

/**
 * RFC 6749 §4.4: an agent's token for itself (CONTRACT.md §3.1). `sub` = `client_id` = the agent,
 * no `act`; the root of a new chain.
 */
export function evaluateClientCredentials(input: ClientCredentialsInput): Result<IssueDecision> {
  const { agent, requestedScopes, audience, proofJkt, now } = input;

  // RFC 6749 §5.2 `invalid_client` / `unauthorized_client`; RFC 9449 §5.2 a required DPoP proof.
  const refusal =
    checkClientEnabled(agent) ??
    checkGrantAllowed(agent, GRANT_CLIENT_CREDENTIALS) ??
    checkProofRequired(agent, proofJkt);
  if (refusal !== null) return refusal;

  // RFC 8707 §2: exactly one registered, allowed target.
  const target = resolveTarget(agent, input.target);
  if (!target.ok) return target;
  const targetRefusal = checkTargetAllowed(agent, target.value, audience);
  if (targetRefusal !== null) return targetRefusal;

  // RFC 6749 §3.3, RFC 9700 §2.3: the agent's allowed scopes ∩ what the audience accepts.
  const scopes = attenuateScopes({
    requested: requestedScopes,
    subjectScopes: null,
    actorAllowed: agent.allowedScopes,
    audienceAccepted: audience?.acceptedScopes ?? [],
  });
  if (!scopes.ok) return scopes;

  const lifetime = tokenLifetime({ now, ttlSeconds: agent.tokenTtlSeconds, notAfter: [] });
  if (!lifetime.ok) return lifetime;

  return accept({
    sub: agent.id,
    aud: target.value,
    clientId: agent.id,
    scopes: scopes.value,
    act: null,
    depth: 0,
    depthLimit: null,
    rootIssuer: null,
    iat: lifetime.value.iat,
    exp: lifetime.value.exp,
    txn: null,
    parentJti: null,
    chainAgents: [agent.id],
    impersonation: false,
    // RFC 9449 §6: `cnf.jkt` when the request carried a valid proof.
    jkt: proofJkt,
  });
}
