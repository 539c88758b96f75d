/**
 * `POST /token/introspection` (RFC 7662) and `POST /token/revocation` (RFC 7009): fastify routes
 * beside the oidc-provider mount, which keeps its own introspection and revocation disabled.
 * In this scope only: form bodies (`application/x-www-form-urlencoded`, RFC 7662 §2.1, RFC 7009
 * §2.1) and nothing else, client authentication as at the token endpoint, a per-address rate
 * limit, `Cache-Control: no-store`, and OAuth-style errors `{"error", "error_description"}`
 * (RFC 6749 §5.2), never problem documents.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ClientAuthenticationError, type FormParams } from '../protocol/client-authentication.js';
import { parameterWithControlCharacter } from '../domain/audit-field.js';
import type { AgentRecord } from '../infra/registry.js';
import { claimedClientId, clientAuthFailureDescription } from '../protocol/client-auth-failure.js';
import { OAuthError, ServiceUnavailable } from '../protocol/errors.js';
import {
  INTROSPECTION_PATH,
  REVOCATION_PATH,
  TOKEN_TYPE_HINTS,
  TokenManagement,
} from '../protocol/token-management.js';
import { formParams, oauthAnswerOf, oauthScope, sendOAuthError, UNEXPECTED_ERROR } from './oauth-endpoint.js';
import { ruleFor } from './token-endpoint.js';

/** The `token` parameter: required, once (RFC 7662 §2.1, RFC 7009 §2.1). */
function tokenParam(params: FormParams): string {
  const value = Object.hasOwn(params, 'token') ? params.token : undefined;
  if (Array.isArray(value)) throw new OAuthError(400, 'invalid_request', 'token must not be repeated');
  if (typeof value !== 'string' || value === '') {
    throw new OAuthError(400, 'invalid_request', 'token is required');
  }
  return value;
}

/** RFC 7009 §2.1: the hint may be ignored, but a value this service does not know is refused (§2.2.1). */
function checkTokenTypeHint(params: FormParams): void {
  const hint = Object.hasOwn(params, 'token_type_hint') ? params.token_type_hint : undefined;
  if (hint === undefined) return;
  if (typeof hint !== 'string') {
    throw new OAuthError(400, 'invalid_request', 'token_type_hint must not be repeated');
  }
  if (!TOKEN_TYPE_HINTS.has(hint)) {
    throw new OAuthError(400, 'unsupported_token_type', 'token_type_hint is not supported');
  }
}

export async function tokenManagementRoutes(app: FastifyInstance): Promise<void> {
  const { config, lineage, ownTokens, clientAuthenticator: authenticator } = app.sts;
  const tokens = new TokenManagement({ ownTokens, lineage });

  /**
   * Authenticates the caller. A refusal is audited as at the token endpoint: the client the
   * request claimed to be, the rule, and for `invalid_client` the precise reason the answer
   * leaves out (client-auth-failure.ts).
   */
  async function authenticate(request: FastifyRequest, params: FormParams): Promise<AgentRecord> {
    try {
      return await authenticator.authenticate(request.headers.authorization, params);
    } catch (error) {
      if (!(error instanceof ClientAuthenticationError)) throw error;
      const description =
        error.error === 'invalid_client' ? clientAuthFailureDescription(error.detail) : error.detail;
      await lineage
        .recordRefusal({
          decision: 'denied',
          rule: ruleFor(error.error, error.status),
          clientId: claimedClientId(request.headers.authorization, params),
          description: `${description} (at ${request.routeOptions.url ?? ''})`,
        })
        .catch((failure: unknown) =>
          request.log.error({ err: failure }, 'could not write the audit event of a refused authentication'),
        );
      throw error;
    }
  }

  /**
   * RFC 6749 §5.2: a recognised parameter holding a control character is malformed: refused with
   * `invalid_request` and audited, before the token is looked at.
   */
  async function checkParameterBytes(request: FastifyRequest, callerId: string, params: FormParams) {
    const malformed = parameterWithControlCharacter({
      token: params.token,
      token_type_hint: params.token_type_hint,
    });
    if (malformed === null) return;
    const description = `${malformed} contains a control character`;
    await dependency(request, () =>
      lineage.recordRefusal({
        decision: 'denied',
        rule: 'invalid_parameters',
        clientId: callerId,
        description: `${description} (at ${request.routeOptions.url ?? ''})`,
      }),
    );
    throw new OAuthError(400, 'invalid_request', description);
  }

  /** A failing database or registry answers 503 and changes nothing (AV-01, AV-02). */
  async function dependency<T>(request: FastifyRequest, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      request.log.error({ err: error }, 'a dependency failed during introspection or revocation');
      throw new ServiceUnavailable();
    }
  }

  // Form bodies only (RFC 7662 §2.1, RFC 7009 §2.1): JSON or text is refused as invalid_request.
  oauthScope(app);

  // Client secrets and assertions are guessed here as at the token endpoint: the same per-address limit.
  const limitByAddress = app.rateLimit({
    max: config.tokenRateLimitPerAddress,
    timeWindow: 60_000,
    keyGenerator: (request) => `token-management-addr:${request.ip}`,
    errorResponseBuilder: (_request, context) =>
      new OAuthError(429, 'rate_limit_exceeded', `too many requests, retry in ${context.after}`),
  });
  app.addHook('onRequest', async (request, reply) => {
    await limitByAddress.call(app, request, reply);
  });

  app.setErrorHandler((error, request, reply) => {
    const answer = oauthAnswerOf(error);
    if (answer === null) {
      request.log.error({ err: error }, 'unexpected error at introspection or revocation');
      return sendOAuthError(reply, UNEXPECTED_ERROR);
    }
    const basic = error instanceof ClientAuthenticationError && error.basic;
    return sendOAuthError(reply, answer, { error, ...(basic ? { basicRealm: config.issuer } : {}) });
  });

  app.post(
    INTROSPECTION_PATH,
    {
      schema: {
        summary: 'Introspect a token (RFC 7662)',
        description:
          'Client-authenticated like the token endpoint; form body with token (and an ignored token_type_hint). Answers {"active": false} unless the token is one of this service\'s, unexpired, not revoked (nor any ancestor), its chain holds no disabled or deleted agent, the agent that obtained it is still allowed its audience and one of its scopes (scope answers what it is still allowed), and it was issued to, by, or through the calling agent.',
      },
    },
    async (request) => {
      const params = formParams(request.body);
      const caller = await authenticate(request, params);
      await checkParameterBytes(request, caller.id, params);
      const token = tokenParam(params);
      // RFC 7662 §2.1: token_type_hint may be ignored; every token this service issues is an access token.
      return dependency(request, () => tokens.introspect(token, caller.id));
    },
  );

  app.post(
    REVOCATION_PATH,
    {
      schema: {
        summary: 'Revoke a token and everything derived from it (RFC 7009)',
        description:
          'Client-authenticated like the token endpoint; form body with token and an optional token_type_hint (access_token or refresh_token). Revokes the token and its whole subtree when the calling agent may see it; answers 200 with an empty body in every other case too.',
      },
    },
    async (request, reply) => {
      const params = formParams(request.body);
      const caller = await authenticate(request, params);
      await checkParameterBytes(request, caller.id, params);
      const token = tokenParam(params);
      checkTokenTypeHint(params);
      const outcome = await dependency(request, () => tokens.revoke(token, caller.id));
      if (outcome.kind === 'not_permitted') {
        // RFC 7009 §2.2 answers 200 either way; the audit log keeps the attempt.
        await dependency(request, () =>
          lineage.recordRefusal({
            decision: 'denied',
            rule: 'revocation_not_permitted',
            clientId: caller.id,
            jti: outcome.jti,
            description: 'the caller may not revoke this token',
          }),
        );
      } else if (outcome.kind === 'revoked' && outcome.tokens.length > 0) {
        request.log.info({ agent: caller.id, revoked: outcome.tokens.length }, 'tokens revoked');
      }
      return reply.code(200).send();
    },
  );
}
