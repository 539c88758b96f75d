/**
 * The JWT bearer grant (RFC 7523 §2.1) for authorization grants of peer domains
 * (draft-ietf-oauth-identity-chaining §2.4, ADR 0025), read as the flow of DESIGN.md: the client is
 * authenticated as at every grant (RFC 7523 §3.1 with RFC 10070) → parse → verify the grant →
 * decide (pure domain) → spend its `jti` → record → sign → answer.
 */
import { randomUUID } from 'node:crypto';
import type { TokenRequest } from './token-request.js';
import { isQualifiedActor } from '../domain/foreign-actor.js';
import { evaluateGrantRedemption, grantChain, localAgentsOf } from '../domain/identity-chaining.js';
import { refuse } from '../domain/refusal.js';
import { resolveTarget } from '../domain/target.js';
import {
  GRANT_JWT_BEARER,
  type AudienceEntry,
  type GrantType,
  type IssueDecision,
  type Refusal,
} from '../domain/types.js';
import type { PeerGrantStore } from '../infra/peer-grants.js';
import type { AgentRecord, Registry } from '../infra/registry.js';
import type { AuthorizationGrantVerifier } from './authorization-grant.js';
import { epochSeconds } from './clock.js';
import { TOKEN_TYPE_ACCESS_TOKEN } from './constants.js';
import { parseTarget, type Params } from './exchange-request.js';

/** RFC 7523 §2.1 parameters; RFC 8707 `resource` / RFC 8693 `audience` name the one target. */
export const JWT_BEARER_PARAMETERS = ['assertion', 'scope', 'audience', 'resource'] as const;

export interface ChainingDeps {
  readonly grants: AuthorizationGrantVerifier;
  readonly peerGrants: PeerGrantStore;
}

interface RedemptionRequest {
  readonly grantType: string;
  readonly agent: AgentRecord;
  readonly params: Params;
  proofJkt: string | null;
  grantSubject?: string;
  audience?: string | null;
}

/** The steps of grants.ts this grant shares with the others. */
export interface GrantSteps<Request extends RedemptionRequest> {
  begin(ctx: TokenRequest, grantType: GrantType): Promise<Request>;
  refuseRequest(ctx: TokenRequest, request: Request, refusal: Refusal): Promise<never>;
  issue(
    ctx: TokenRequest,
    request: Request,
    decision: IssueDecision,
    issuedTokenType: string,
    options?: { description?: string },
  ): Promise<void>;
  lookup<T>(read: () => Promise<T>): Promise<T>;
  audienceOf(target: string): Promise<AudienceEntry | null>;
}

export function createJwtBearerGrant<Request extends RedemptionRequest>(
  deps: {
    readonly issuer: string;
    readonly serviceMaxDepth: number;
    readonly registry: Registry;
    readonly chaining: ChainingDeps;
  },
  steps: GrantSteps<Request>,
) {
  const { begin, refuseRequest, issue, lookup, audienceOf } = steps;

  return async function jwtBearer(ctx: TokenRequest): Promise<void> {
    const request = await begin(ctx, GRANT_JWT_BEARER);
    const now = epochSeconds();
    const assertion = request.params.assertion;
    if (typeof assertion !== 'string' || assertion === '') {
      return refuseRequest(
        ctx,
        request,
        refuse('invalid_parameters', 'invalid_request', 'assertion is required'),
      );
    }
    const parsed = parseTarget(request.params);
    if (!parsed.ok) return refuseRequest(ctx, request, parsed);
    request.audience = parsed.value.target;

    const verified = await lookup(() => deps.chaining.grants.verify(assertion, now));
    if (!verified.ok) return refuseRequest(ctx, request, verified);
    const { grant, peer } = verified.value;
    request.grantSubject = grant.sub;

    const chain = grantChain(grant, deps.issuer);
    // The target the domain will resolve (resolveTarget), looked up now; a refusal comes from the domain.
    const resolved = resolveTarget(request.agent, parsed.value.target);
    const target = resolved.ok ? resolved.value : null;
    const [audience, chainAgents] = await lookup(() =>
      Promise.all([
        target === null ? Promise.resolve(null) : audienceOf(target),
        deps.registry.getAgents(localAgentsOf(chain)),
      ]),
    );
    if (target !== null) request.audience = target;

    const decision = evaluateGrantRedemption({
      grant,
      peer,
      client: request.agent,
      target: parsed.value.target,
      requestedScopes: parsed.value.requestedScopes,
      audience,
      chainAgents,
      serviceMaxDepth: deps.serviceMaxDepth,
      proofJkt: request.proofJkt,
      ownIssuer: deps.issuer,
      now,
    });
    if (!decision.ok) return refuseRequest(ctx, request, decision);

    // RFC 7523 §3 point 7, draft §4.5: each grant once, on every instance. Spent only by a
    // redemption that passed every rule, so a thief refused by policy cannot burn it.
    const txn = randomUUID();
    const claimed = await lookup(() =>
      deps.chaining.peerGrants.claim({
        peerIssuer: grant.issuer,
        grantJti: grant.jti,
        grantTxn: grant.txn,
        grantClientId: grant.clientId,
        foreignActors: chain.filter(isQualifiedActor),
        expiresAt: new Date(grant.exp * 1000),
        presentedBy: request.agent.id,
        localTxn: txn,
      }),
    );
    if (!claimed) {
      return refuseRequest(
        ctx,
        request,
        refuse('authorization_grant_replayed', 'invalid_grant', 'assertion has already been used'),
      );
    }
    await issue(ctx, request, { ...decision.value, txn }, TOKEN_TYPE_ACCESS_TOKEN, {
      description: `authorization grant ${grant.jti} of ${grant.issuer}${grant.txn ? ` (txn ${grant.txn})` : ''}`,
    });
  };
}
