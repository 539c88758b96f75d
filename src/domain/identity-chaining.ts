/**
 * Identity and authorization chaining across trust domains (draft-ietf-oauth-identity-chaining,
 * ADR 0025), as two ordered checklists beside the token-exchange policy (exchange.ts):
 *
 * - outbound, `evaluateGrantRequest`: a token exchange whose target is a registered peer
 *   authorization server yields a JWT authorization grant for it (draft §2.3), judged as any hop;
 * - inbound, `evaluateGrantRedemption`: a peer's grant presented with the JWT bearer grant
 *   (RFC 7523 §2.1, draft §2.4) yields an access token here, with the same attenuation, depth,
 *   cycle and lifetime rules, the chain carried across the border.
 */
import { buildActClaim } from './act-chain.js';
import { attenuateScopes } from './attenuation.js';
import { allAgentsEnabled } from './chain-liveness.js';
import { checkClientEnabled } from './client-enabled.js';
import { checkProofRequired } from './dpop-binding.js';
import { evaluateExchange } from './exchange.js';
import { actorNameHere, isQualifiedActor, subjectNameHere, type SubjectMapping } from './foreign-actor.js';
import { checkGrantAllowed } from './grant-allowed.js';
import { tokenLifetime } from './lifetime.js';
import { accept, refuse } from './refusal.js';
import { checkTargetAllowed, resolveTarget } from './target.js';
import {
  GRANT_JWT_BEARER,
  type AgentPolicy,
  type AudienceEntry,
  type ExchangeInput,
  type IssueDecision,
  type Refusal,
  type Result,
  type TokenBinding,
} from './types.js';

/** What the outbound policy needs of a peer domain: who may ask for grants to it, carrying what. */
export interface GrantTargetPolicy {
  /** The peer's issuer identifier: the grant's single `aud` (draft §2.3.3, RFC 7523 §3 point 3). */
  readonly issuer: string;
  readonly grantRequesters: readonly string[];
  readonly grantScopes: readonly string[];
  readonly grantTtlSeconds: number;
}

/**
 * draft §2.3.2: a token exchange for a JWT authorization grant is a hop like any other (subject,
 * actor, chain, scopes, lifetime: evaluateExchange), addressed to the peer's authorization server.
 * Only the agents the peer registration names may ask, never by impersonation (the grant always
 * carries the chain), and the grant lives at most the peer's grant lifetime.
 */
export function evaluateGrantRequest(input: ExchangeInput, peer: GrantTargetPolicy): Result<IssueDecision> {
  const { actorAgent, request } = input;
  if (!peer.grantRequesters.includes(actorAgent.id)) {
    return refuse(
      'target_not_allowed',
      'invalid_target',
      'this client may not request authorization grants for this authorization server',
    );
  }
  if (request.impersonation) {
    return refuse(
      'impersonation_not_allowed',
      'invalid_request',
      'an authorization grant always carries the delegation chain',
    );
  }
  const audience: AudienceEntry = { kind: 'resource', id: peer.issuer, acceptedScopes: peer.grantScopes };
  const decision = evaluateExchange({
    ...input,
    // The peer registration, not the agent's audience list, says who may address this peer.
    actorAgent: { ...actorAgent, allowedAudiences: [peer.issuer] },
    request: { ...request, target: peer.issuer },
    audience,
  });
  if (!decision.ok) return decision;
  // draft §4.5 (replay of authorization grant): short-lived.
  return accept({
    ...decision.value,
    exp: Math.min(decision.value.exp, decision.value.iat + peer.grantTtlSeconds),
  });
}

/** What the inbound policy needs of a peer domain: who may redeem its grants, for what. */
export interface GrantSourcePolicy {
  readonly issuer: string;
  readonly redeemingClients: readonly string[];
  readonly acceptedScopes: readonly string[];
  readonly subjectMapping: SubjectMapping;
  readonly maxDelegationDepth: number | null;
}

/** A JWT authorization grant whose signature, `aud`, `typ` and times the protocol layer verified. */
export interface VerifiedGrant {
  readonly issuer: string;
  readonly sub: string;
  readonly scopes: readonly string[];
  /** Seconds since the epoch. */
  readonly exp: number;
  readonly jti: string;
  /** The chain id in the issuing domain, when the grant carries one. */
  readonly txn: string | null;
  /** The agent of the issuing domain the grant was issued to (`client_id`), when named. */
  readonly clientId: string | null;
  /** Agents in the grant's `act` chain, oldest first, as the issuing domain named them. */
  readonly actors: readonly string[];
  readonly binding: TokenBinding;
}

export interface RedemptionInput {
  readonly grant: VerifiedGrant;
  /** The peer domain that issued the grant; null when its issuer is not registered as one. */
  readonly peer: GrantSourcePolicy | null;
  /** The authenticated client redeeming the grant (RFC 7523 §3.1, RFC 10070). */
  readonly client: AgentPolicy;
  /** The requested target (`resource` or `audience`); null when none was given. */
  readonly target: string | null;
  readonly requestedScopes: readonly string[] | null;
  readonly audience: AudienceEntry | null;
  /** Registry entries of the chain's agents that are this service's own (see `grantChain`). */
  readonly chainAgents: ReadonlyMap<string, AgentPolicy>;
  readonly serviceMaxDepth: number;
  readonly proofJkt: string | null;
  /** This service's issuer identifier: actors qualified with it are its own agents again. */
  readonly ownIssuer: string;
  readonly now: number;
}

/** The grant's `act` chain named here, oldest first (foreign-actor.ts). */
export function grantChain(grant: VerifiedGrant, ownIssuer: string): string[] {
  return grant.actors.map((actor) => actorNameHere(actor, grant.issuer, ownIssuer));
}

/** The agents of this service in a grant's chain: the ones that came back home. */
export function localAgentsOf(chain: readonly string[]): string[] {
  return chain.filter((id) => !isQualifiedActor(id));
}

function refuseGrant(description: string): Refusal {
  return refuse('authorization_grant_invalid', 'invalid_grant', description);
}

/** RFC 9449 §6: a grant bound to a DPoP key is redeemed only with a proof of that key. */
function checkGrantHolder(binding: TokenBinding, proofJkt: string | null): Refusal | null {
  if (binding.kind === 'none') return null;
  if (binding.kind === 'jkt' && binding.jkt === proofJkt) return null;
  return refuseGrant('the authorization grant is bound to a key this request does not prove');
}

/**
 * RFC 7523 §3 and §3.1, draft §2.4.2, as an ordered checklist: the first rule that fails decides.
 * Counting starts in the issuing domain: the grant's actors are hops, the redeeming client is one
 * more, and no agent may appear twice, on either side of the border.
 */
export function evaluateGrantRedemption(input: RedemptionInput): Result<IssueDecision> {
  const { grant, peer, client, chainAgents, serviceMaxDepth, proofJkt, now } = input;
  const refusal =
    // RFC 6749 §5.2: an enabled client, allowed the JWT bearer grant.
    checkClientEnabled(client) ??
    checkGrantAllowed(client, GRANT_JWT_BEARER) ??
    checkProofRequired(client, proofJkt) ??
    // draft §2.4.2: "the request MAY be denied if a trust relationship ... is not established".
    (peer === null
      ? refuse(
          'peer_not_registered',
          'invalid_grant',
          'the authorization grant was issued by an unknown domain',
        )
      : null) ??
    (peer !== null && !peer.redeemingClients.includes(client.id)
      ? refuse(
          'peer_client_not_allowed',
          'unauthorized_client',
          "this client may not redeem this domain's authorization grants",
        )
      : null) ??
    checkGrantHolder(grant.binding, proofJkt);
  if (refusal !== null) return refusal;
  const source = peer as GrantSourcePolicy;

  // RFC 8693 §4.1 chain policy across the border: no agent twice, every local one live.
  const chain = grantChain(grant, input.ownIssuer);
  if (new Set(chain).size !== chain.length || chain.includes(client.id)) {
    return refuse('delegation_cycle', 'invalid_request', 'this client is already in the delegation chain');
  }
  const localAgents = localAgentsOf(chain);
  if (!allAgentsEnabled(localAgents, chainAgents)) {
    return refuse(
      'chain_agent_inactive',
      'invalid_request',
      'an agent in the delegation chain is not active',
    );
  }
  const depth = chain.length + 1;
  const limits = [serviceMaxDepth, client.maxDelegationDepth];
  if (source.maxDelegationDepth !== null) limits.push(source.maxDelegationDepth);
  for (const id of localAgents) {
    const agent = chainAgents.get(id);
    if (agent !== undefined) limits.push(agent.maxDelegationDepth);
  }
  if (depth > Math.min(...limits)) {
    return refuse(
      'delegation_too_deep',
      'invalid_request',
      'delegation chain would exceed the allowed depth',
    );
  }

  // RFC 8707 §2, draft §2.4.1: one registered target this client may address.
  const target = resolveTarget(client, input.target);
  if (!target.ok) return target;
  const targetRefusal = checkTargetAllowed(client, target.value, input.audience);
  if (targetRefusal !== null) return targetRefusal;

  // draft §2.5 "controlling scope": never more than the grant carried and the peer may confer here.
  const scopes = attenuateScopes({
    requested: input.requestedScopes,
    subjectScopes: grant.scopes.filter((scope) => source.acceptedScopes.includes(scope)),
    actorAllowed: client.allowedScopes,
    audienceAccepted: input.audience?.acceptedScopes ?? [],
  });
  if (!scopes.ok) return scopes;

  // RFC 8693 §5: the access token never outlives the grant it came from.
  const lifetime = tokenLifetime({ now, ttlSeconds: client.tokenTtlSeconds, notAfter: [grant.exp] });
  if (!lifetime.ok) return refuseGrant('the authorization grant has expired');

  return accept({
    sub: subjectNameHere(grant.sub, source.subjectMapping, source.issuer),
    aud: target.value,
    clientId: client.id,
    scopes: scopes.value,
    act: buildActClaim([...chain, client.id]),
    depth,
    depthLimit: source.maxDelegationDepth,
    // The chain answers to the peer: removing it ends every chain it started here.
    rootIssuer: source.issuer,
    iat: lifetime.value.iat,
    exp: lifetime.value.exp,
    // A new local chain; its foreign parent (issuer, grant jti, txn) is recorded beside it.
    txn: null,
    parentJti: null,
    chainAgents: [...chain, client.id],
    impersonation: false,
    jkt: proofJkt,
  });
}
