/**
 * The grants of the token endpoint (http/token-endpoint.ts, ADR 0027). The agent is authenticated
 * before a handler runs (`ctx.agent`); each handler reads as the flow of DESIGN.md: parse → verify
 * input tokens → decide (pure domain) → record → sign → answer.
 */
import { evaluateClientCredentials } from '../domain/client-credentials.js';
import { parameterWithControlCharacter } from '../domain/audit-field.js';
import { chainParticipants } from '../domain/chain-liveness.js';
import { evaluateExchange } from '../domain/exchange.js';
import { checkGrantAllowed } from '../domain/grant-allowed.js';
import { refuse } from '../domain/refusal.js';
import { resolveTarget } from '../domain/target.js';
import {
  GRANT_CLIENT_CREDENTIALS,
  GRANT_TOKEN_EXCHANGE,
  type AudienceEntry,
  type GrantType,
  type IssueDecision,
  type Refusal,
  type VerifiedToken,
} from '../domain/types.js';
import type { AuditRecord, LineageStore } from '../infra/lineage-store.js';
import type { RateCounter } from '../infra/rate-counter.js';
import type { AgentRecord, Registry } from '../infra/registry.js';
import type { KeySet } from '../infra/signing-keys.js';
import { accessTokenType } from './confirmation.js';
import { ADMIN_SCOPE, TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_JWT, TOKEN_TYPE_TXN_TOKEN } from './constants.js';
import type { DpopProofVerifier } from './dpop-proof.js';
import { parseExchange, parseTarget, type ParsedExchange, type Params } from './exchange-request.js';
import { OAuthError, RateLimited, ServiceUnavailable } from './errors.js';
import type { TokenRequest } from './token-request.js';
import type { InputTokenVerifier } from './input-token.js';
import { newToken, signAccessToken, tokenDigest, type IssuedToken } from './mint.js';
import { signAuthorizationGrant, TOKEN_TYPE_NOT_APPLICABLE } from './authorization-grant.js';
import { createJwtBearerGrant, type ChainingDeps } from './jwt-bearer-grant.js';
import { evaluateGrantRequest } from '../domain/identity-chaining.js';
import { epochSeconds } from './clock.js';
import { createTxnTokenGrant, type TxnTokenSettings } from './txn-token-grant.js';

export interface GrantDeps {
  readonly issuer: string;
  readonly serviceMaxDepth: number;
  readonly tokenRateLimit: number;
  readonly registry: Registry;
  readonly lineage: LineageStore;
  readonly verifier: InputTokenVerifier;
  readonly keys: () => KeySet;
  readonly rateCounter: RateCounter;
  readonly dpopProofs: DpopProofVerifier;
  /** Transaction Tokens (ADR 0024): the configured Trust Domain, or null when they are off. */
  readonly txnTokens: TxnTokenSettings | null;
  /** Where dependency failures are reported; the client only sees 503. */
  readonly logError: (error: unknown, message: string) => void;
  /** Identity chaining across trust domains (ADR 0025). */
  readonly chaining: ChainingDeps;
}

/**
 * The parameters whose values are JSON (Txn-Tokens draft, "Txn-Token Request"): JSON allows line
 * breaks and tabs between its tokens, and holds none raw inside a string; they are parsed, not
 * stored, so they are left out of the control-character check.
 */
function withoutJsonParameters(params: Params): Params {
  const { request_context: _context, request_details: _details, ...rest } = params;
  return rest;
}

/** RFC 6749 §5.2 (and RFC 9449 §7.1 for DPoP): the error a refused grant answers with. */
function refusalError(refusal: Refusal): OAuthError {
  return new OAuthError(refusal.error === 'invalid_client' ? 401 : 400, refusal.error, refusal.description);
}

export interface RequestContext {
  readonly grantType: string;
  readonly agent: AgentRecord;
  readonly params: Params;
  /** Thumbprint of the key of the request's valid DPoP proof; null without one. */
  proofJkt: string | null;
  subject?: VerifiedToken;
  /** The subject of a JWT authorization grant (ADR 0025), for the audit row. */
  grantSubject?: string;
  audience?: string | null;
}

/** How an issued token is shaped: an RFC 9068 access token, or a JWT authorization grant (ADR 0025). */
export interface IssueOptions {
  readonly form?: 'access_token' | 'authorization_grant';
  /** Said in the audit row of the grant (a foreign parent, for instance). */
  readonly description?: string;
}

export function createGrantHandlers(deps: GrantDeps) {
  async function audit(ctx: TokenRequest, record: AuditRecord, write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (error) {
      deps.logError(error, 'could not record a token decision');
      throw new ServiceUnavailable();
    }
    ctx.audited = record;
  }

  async function auditRefusal(ctx: TokenRequest, request: RequestContext, refusal: Refusal): Promise<void> {
    const record: AuditRecord = {
      decision: 'denied',
      rule: refusal.rule,
      grantType: request.grantType,
      clientId: request.agent.id,
      subject: request.subject?.sub ?? request.grantSubject ?? null,
      audience: request.audience ?? null,
      requestedScope: typeof request.params.scope === 'string' ? request.params.scope : null,
      parentJti: request.subject?.origin.kind === 'self' ? request.subject.jti : null,
      txn: request.subject?.txn ?? null,
      description: refusal.description,
    };
    await audit(ctx, record, () => deps.lineage.recordRefusal(record));
  }

  /** Audits the refusal, then throws the RFC error the client sees. Nothing is issued. */
  async function refuseRequest(ctx: TokenRequest, request: RequestContext, refusal: Refusal): Promise<never> {
    await auditRefusal(ctx, request, refusal);
    throw refusalError(refusal);
  }

  /**
   * Writes the lineage row and the granted audit event of a token already signed, in one statement
   * (DESIGN.md step 5); a failure answers 503 and the token is never handed out.
   */
  async function recordGrant(
    ctx: TokenRequest,
    request: RequestContext,
    decision: IssueDecision,
    issued: IssuedToken,
  ): Promise<void> {
    const { jti, txn, scope } = issued;
    // An agent's own token has the agent as subject; a derived token inherits its subject's kind
    // (impersonation included, though its token shows no `act`).
    const subjectIsAgent = request.subject
      ? request.subject.subjectIsAgent
      : decision.sub === decision.clientId;
    const record: AuditRecord = {
      decision: 'granted',
      rule: 'granted',
      grantType: request.grantType,
      clientId: decision.clientId,
      subject: decision.sub,
      audience: decision.aud,
      requestedScope: typeof request.params.scope === 'string' ? request.params.scope : null,
      grantedScope: scope,
      jti,
      parentJti: decision.parentJti,
      txn,
      impersonation: decision.impersonation,
      ...(issued.description ? { description: issued.description } : {}),
    };
    await audit(ctx, record, () =>
      deps.lineage.recordIssuance(
        {
          jti,
          parentJti: decision.parentJti,
          txn,
          depth: decision.depth,
          depthLimit: decision.depthLimit,
          rootIssuer: decision.rootIssuer,
          jkt: decision.jkt,
          sub: decision.sub,
          clientId: decision.clientId,
          chainAgents: decision.chainAgents,
          aud: decision.aud,
          scope,
          grantType: request.grantType,
          impersonation: decision.impersonation,
          subjectIsAgent,
          issuedAt: new Date(decision.iat * 1000),
          expiresAt: new Date(decision.exp * 1000),
          tokenDigest: issued.digest ?? null,
        },
        record,
      ),
    );
  }

  async function issue(
    ctx: TokenRequest,
    request: RequestContext,
    decision: IssueDecision,
    issuedTokenType: string,
    options: IssueOptions = {},
  ): Promise<void> {
    const asGrant = options.form === 'authorization_grant';
    const issued: IssuedToken = {
      ...newToken(decision),
      ...(options.description !== undefined ? { description: options.description } : {}),
    };
    const { jti, txn, scope } = issued;
    // Sign first: if signing failed after the commit, lineage would name a token nobody holds.
    const sign = asGrant ? signAuthorizationGrant : signAccessToken;
    const accessToken = await sign(deps.keys().active, {
      iss: deps.issuer,
      sub: decision.sub,
      aud: decision.aud,
      client_id: decision.clientId,
      scope,
      ...(decision.act ? { act: decision.act } : {}),
      ...(decision.jkt !== null ? { cnf: { jkt: decision.jkt } } : {}),
      txn,
      jti,
      iat: decision.iat,
      nbf: decision.iat,
      exp: decision.exp,
    });
    await recordGrant(ctx, request, decision, { ...issued, digest: tokenDigest(accessToken) });
    // RFC 8693 §2.2.1 (and RFC 6749 §5.1 for client_credentials); no refresh token.
    ctx.body = {
      access_token: accessToken,
      issued_token_type: issuedTokenType,
      token_type: asGrant ? TOKEN_TYPE_NOT_APPLICABLE : accessTokenType(decision.jkt),
      expires_in: decision.exp - decision.iat,
      scope,
    };
  }

  /**
   * Applies the authenticated agent's per-client rate limit and checks that it may use
   * this grant before any parameter or input token is looked at, so an agent without the grant
   * learns nothing about the tokens it sends (CA-05). Then checks and spends the DPoP proof, if
   * any (RFC 9449 §4.3, §11.1): a refused request has spent it all the same.
   */
  async function begin(ctx: TokenRequest, grantType: GrantType): Promise<RequestContext> {
    const { agent, params } = ctx;
    let limit;
    try {
      limit = await deps.rateCounter.hit(`client:${agent.id}`, deps.tokenRateLimit, 60_000);
    } catch (error) {
      deps.logError(error, 'could not apply the rate limit');
      throw new ServiceUnavailable();
    }
    const request: RequestContext = { grantType, agent, params, proofJkt: null };
    if (!limit.allowed) {
      await auditRefusal(ctx, request, refuse('rate_limited', 'invalid_request', 'rate limit exceeded'));
      throw new RateLimited(limit.retryAfterSeconds);
    }
    // RFC 6749 §5.2: a malformed parameter; refused before any token is verified or proof spent.
    const malformed = parameterWithControlCharacter(withoutJsonParameters(request.params));
    if (malformed !== null) {
      await refuseRequest(
        ctx,
        request,
        refuse('invalid_parameters', 'invalid_request', `${malformed} contains a control character`),
      );
    }
    const notAllowed = checkGrantAllowed(agent, grantType);
    if (notAllowed !== null) await refuseRequest(ctx, request, notAllowed);
    const proof = await lookup(() => deps.dpopProofs.verify(ctx));
    if (!proof.ok) await refuseRequest(ctx, request, proof);
    else request.proofJkt = proof.value?.jkt ?? null;
    return request;
  }

  /**
   * The registry entry of a target. The issuer itself is an implicit audience that accepts only
   * `sts:admin` (CONTRACT §4): the admin API's own access tokens are issued for it. The Trust
   * Domain of Txn-Tokens is no audience of an access token (ADR 0024), so that an access token can
   * never pass where a Txn-Token is expected.
   */
  function audienceOf(target: string): Promise<AudienceEntry | null> {
    if (target === deps.issuer) {
      return Promise.resolve({ kind: 'resource', id: target, acceptedScopes: [ADMIN_SCOPE] });
    }
    if (target === deps.txnTokens?.trustDomain) return Promise.resolve(null);
    return deps.registry.getAudience(target);
  }

  /**
   * The registered agents a trusted issuer's token is addressed to beside agent-sts: such a token
   * belongs to them alone. None to look up when the token names the actor or only agent-sts.
   */
  function addressedAgents(subject: VerifiedToken, actorId: string): Promise<string[]> {
    const { origin } = subject;
    if (origin.kind !== 'trusted_issuer' || subject.aud.includes(actorId)) return Promise.resolve([]);
    return deps.registry.agentIdsAmong(subject.aud.filter((aud) => !origin.audiences.includes(aud)));
  }

  /** Runs a registry or lineage read; a failing dependency fails closed with 503. */
  async function lookup<T>(read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (error) {
      deps.logError(error, 'a dependency failed during a token request');
      throw new ServiceUnavailable();
    }
  }

  /** RFC 8693 §2.1 `actor_token`, verified; null when none was sent. A bad one is refused. */
  async function actorTokenOf(
    ctx: TokenRequest,
    request: RequestContext,
    exchange: ParsedExchange,
    now: number,
  ): Promise<VerifiedToken | null> {
    if (!exchange.actorToken || !exchange.actorTokenType) return null;
    const { actorToken, actorTokenType } = exchange;
    const actor = await lookup(() => deps.verifier.verify('actor_token', actorToken, actorTokenType, now));
    if (!actor.ok) return refuseRequest(ctx, request, actor);
    return actor.value;
  }

  const txnTokenExchange = createTxnTokenGrant({
    issuer: deps.issuer,
    serviceMaxDepth: deps.serviceMaxDepth,
    settings: deps.txnTokens,
    registry: deps.registry,
    lineage: deps.lineage,
    verifier: deps.verifier,
    keys: deps.keys,
    steps: { recordGrant, refuseRequest, lookup, actorTokenOf, addressedAgents },
  });

  async function clientCredentials(ctx: TokenRequest): Promise<void> {
    const request = await begin(ctx, GRANT_CLIENT_CREDENTIALS);
    const parsed = parseTarget(request.params);
    if (!parsed.ok) return refuseRequest(ctx, request, parsed);
    const target = resolveTarget(request.agent, parsed.value.target);
    if (!target.ok) return refuseRequest(ctx, request, target);
    request.audience = target.value;
    const decision = evaluateClientCredentials({
      agent: request.agent,
      target: target.value,
      requestedScopes: parsed.value.requestedScopes,
      audience: await lookup(() => audienceOf(target.value)),
      proofJkt: request.proofJkt,
      now: epochSeconds(),
    });
    if (!decision.ok) return refuseRequest(ctx, request, decision);
    await issue(ctx, request, decision.value, TOKEN_TYPE_ACCESS_TOKEN);
  }

  async function tokenExchange(ctx: TokenRequest): Promise<void> {
    const request = await begin(ctx, GRANT_TOKEN_EXCHANGE);
    const now = epochSeconds();
    const parsed = parseExchange(request.params);
    if (!parsed.ok) return refuseRequest(ctx, request, parsed);
    const exchange = parsed.value;
    request.audience = exchange.target;

    if (exchange.requestedTokenType === TOKEN_TYPE_TXN_TOKEN) {
      return txnTokenExchange(ctx, request, exchange, now);
    }

    const subject = await lookup(() =>
      deps.verifier.verify('subject_token', exchange.subjectToken, exchange.subjectTokenType, now),
    );
    if (!subject.ok) return refuseRequest(ctx, request, subject);
    request.subject = subject.value;
    const actorToken = await actorTokenOf(ctx, request, exchange, now);

    const target = resolveTarget(request.agent, exchange.target);
    if (!target.ok) return refuseRequest(ctx, request, target);
    request.audience = target.value;
    const [audience, chainAgents, subjectAudienceAgents] = await lookup(() =>
      Promise.all([
        audienceOf(target.value),
        deps.registry.getAgents(chainParticipants(subject.value)),
        addressedAgents(subject.value, request.agent.id),
      ]),
    );

    const input = {
      request: {
        target: target.value,
        requestedScopes: exchange.requestedScopes,
        impersonation: exchange.impersonation,
      },
      actorAgent: request.agent,
      subject: subject.value,
      actorToken,
      audience,
      chainAgents,
      subjectAudienceAgents,
      serviceMaxDepth: deps.serviceMaxDepth,
      proofJkt: request.proofJkt,
      now,
    };
    // draft-ietf-oauth-identity-chaining §2.3: a target that is a peer's authorization server
    // (never a registered audience) yields a JWT authorization grant for it (ADR 0025).
    const peer = audience === null ? await lookup(() => deps.registry.getPeerDomain(target.value)) : null;
    if (peer !== null && peer.grantRequesters.length > 0) {
      if (!exchange.requestedTokenTypeGiven || exchange.requestedTokenType === TOKEN_TYPE_JWT) {
        const grant = evaluateGrantRequest(input, peer);
        if (!grant.ok) return refuseRequest(ctx, request, grant);
        return issue(ctx, request, grant.value, TOKEN_TYPE_JWT, { form: 'authorization_grant' });
      }
      return refuseRequest(
        ctx,
        request,
        refuse(
          'unsupported_requested_token_type',
          'invalid_request',
          'an authorization server is given a JWT authorization grant: requested_token_type must be urn:ietf:params:oauth:token-type:jwt',
        ),
      );
    }
    const decision = evaluateExchange(input);
    if (!decision.ok) return refuseRequest(ctx, request, decision);
    await issue(ctx, request, decision.value, exchange.requestedTokenType);
  }

  const jwtBearer = createJwtBearerGrant(deps, { begin, refuseRequest, issue, lookup, audienceOf });

  return { clientCredentials, tokenExchange, jwtBearer };
}
