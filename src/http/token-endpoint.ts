/**
 * `POST /token` (RFC 6749 §3.2, RFC 8693, RFC 7523 §2.1), served by fastify (ADR 0027): form body,
 * client authentication (client-authentication.ts: secrets, `private_key_jwt`, workload
 * credentials), then the checks RFC 6749 asks of every token request, in oidc-provider's order
 * (`grant_type` present, once and supported; no other parameter repeated but `audience` and
 * `resource`; `scope` well formed), then the grant (grants.ts). Every refusal has its audit row:
 * the grant writes its own, and this route writes the row of a refusal that came before the grant
 * ran (body, client authentication, parameters), naming the client the request claimed to be and,
 * for `invalid_client`, the precise reason the answer leaves out (client-auth-failure.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  GRANT_CLIENT_CREDENTIALS,
  GRANT_JWT_BEARER,
  GRANT_TOKEN_EXCHANGE,
  type RuleCode,
} from '../domain/types.js';
import type { AuditRecord } from '../infra/lineage-store.js';
import type { AgentRecord } from '../infra/registry.js';
import { grantTypeLabel } from '../infra/metrics.js';
import { claimedClientId, clientAuthFailureDescription } from '../protocol/client-auth-failure.js';
import {
  CLIENT_AUTH_PARAMETERS,
  ClientAuthenticationError,
  type ClientAuthenticator,
  type FormParams,
} from '../protocol/client-authentication.js';
import {
  CLIENT_CREDENTIALS_PARAMETERS,
  REPEATABLE_PARAMETERS,
  TOKEN_EXCHANGE_PARAMETERS,
  type Params,
} from '../protocol/exchange-request.js';
import { OAuthError } from '../protocol/errors.js';
import type { createGrantHandlers } from '../protocol/grants.js';
import { JWT_BEARER_PARAMETERS } from '../protocol/jwt-bearer-grant.js';
import { TOKEN_PATH } from '../protocol/provider.js';
import type { TokenRequest } from '../protocol/token-request.js';
import {
  formParams,
  oauthAnswerOf,
  oauthScope,
  sendOAuthError,
  UNEXPECTED_ERROR,
  type OAuthAnswer,
} from './oauth-endpoint.js';

type Grants = ReturnType<typeof createGrantHandlers>;
type GrantHandler = (request: TokenRequest) => Promise<void>;

export interface TokenEndpointOptions {
  readonly grants: Grants;
  readonly authenticator: ClientAuthenticator;
}

/** The audit rule of a refusal that happened before a grant handler ran (also the metrics label). */
export function ruleFor(error: unknown, status: number): RuleCode {
  if (error === 'invalid_client') return 'client_authentication_failed';
  if (error === 'unauthorized_client') return 'grant_type_not_allowed';
  if (status >= 500) return 'unavailable';
  return 'invalid_parameters';
}

/** RFC 6749 Appendix A.4 `scope`: space-separated NQCHAR tokens (as oidc-provider checks it). */
const SCOPE_SYNTAX = /^[\x21\x23-\x5B\x5D-\x7E]+(?: [\x21\x23-\x5B\x5D-\x7E]+)*$/;

/**
 * The form without its empty parameters: `x=` is no `x`, as oidc-provider read token requests
 * (`helpers/params.js`), so an empty `resource` beside an `audience` names no second target.
 */
function withoutEmptyParameters(form: FormParams): FormParams {
  // No prototype: a parameter named `__proto__` is a parameter like any other.
  const given = Object.create(null) as Record<string, string | readonly string[]>;
  for (const [name, value] of Object.entries(form)) {
    if (value !== undefined && value !== '') given[name] = value;
  }
  return given;
}

function invalidRequest(description: string): OAuthError {
  return new OAuthError(400, 'invalid_request', description);
}

/** `'a'` or `'a', 'b' and 'c'`, as the messages name parameters. */
function namesOf(parameters: readonly string[]): string {
  const quoted = parameters.map((name) => `'${name}'`);
  const last = quoted.pop() ?? '';
  return quoted.length ? `${quoted.join(', ')} and ${last}` : last;
}

export async function tokenEndpointRoutes(
  app: FastifyInstance,
  options: TokenEndpointOptions,
): Promise<void> {
  const { config, lineage, metrics } = app.sts;
  const { grants, authenticator } = options;
  const repeatable = new Set<string>(REPEATABLE_PARAMETERS);
  /** Each grant's handler, and the parameters it reads besides the client-authentication ones. */
  const handlers = new Map<string, { readonly handle: GrantHandler; readonly parameters: Set<string> }>(
    [
      [GRANT_CLIENT_CREDENTIALS, grants.clientCredentials, CLIENT_CREDENTIALS_PARAMETERS],
      [GRANT_TOKEN_EXCHANGE, grants.tokenExchange, TOKEN_EXCHANGE_PARAMETERS],
      [GRANT_JWT_BEARER, grants.jwtBearer, JWT_BEARER_PARAMETERS],
    ].map(([grantType, handle, parameters]) => [
      grantType as string,
      {
        handle: handle as GrantHandler,
        parameters: new Set([...(parameters as readonly string[]), ...CLIENT_AUTH_PARAMETERS, 'grant_type']),
      },
    ]),
  );

  oauthScope(app);

  /**
   * RFC 6749 §3.2 and §5.2, after client authentication: `grant_type` given once and supported;
   * only the grant's parameters are kept, none of them repeated but `audience` and `resource`
   * (RFC 8693 §2.1); `scope` well formed. Throws the refusal.
   */
  function grantParameters(form: FormParams): { handle: GrantHandler; params: Params } {
    const grantType = form.grant_type;
    if (Array.isArray(grantType)) throw invalidRequest("'grant_type' parameter must not be provided twice");
    if (grantType === undefined) throw invalidRequest("missing required parameter 'grant_type'");
    const grant = handlers.get(grantType as string);
    if (!grant) throw new OAuthError(400, 'unsupported_grant_type', 'unsupported grant_type requested');
    const params = Object.create(null) as Record<string, unknown>;
    const repeated: string[] = [];
    for (const name of grant.parameters) {
      if (!Object.hasOwn(form, name)) continue;
      const value = form[name];
      if (Array.isArray(value) && !repeatable.has(name)) repeated.push(name);
      params[name] = value;
    }
    if (repeated.length > 0) {
      const noun = repeated.length === 1 ? 'parameter' : 'parameters';
      throw invalidRequest(`${namesOf(repeated)} ${noun} must not be provided twice`);
    }
    const scope = params.scope;
    if (scope !== undefined && (typeof scope !== 'string' || !SCOPE_SYNTAX.test(scope))) {
      throw new OAuthError(400, 'invalid_scope', 'scope contains invalid characters');
    }
    return { handle: grant.handle, params };
  }

  /** The audit row of a refusal no grant recorded; a failure to write it is logged, not answered. */
  async function auditEarlyRefusal(
    request: FastifyRequest,
    form: FormParams,
    answer: OAuthAnswer,
    error: unknown,
    agentId: string | null,
  ): Promise<void> {
    const record: AuditRecord = {
      decision: 'denied',
      rule: ruleFor(answer.error, answer.status),
      grantType: typeof form.grant_type === 'string' ? form.grant_type : null,
      clientId: agentId ?? claimedClientId(request.headers.authorization, form),
      description:
        error instanceof ClientAuthenticationError && error.error === 'invalid_client'
          ? clientAuthFailureDescription(error.detail)
          : answer.description,
    };
    try {
      await lineage.recordRefusal(record);
    } catch (failure) {
      request.log.error({ err: failure }, 'could not write the audit event of a refused token request');
    }
  }

  /**
   * Answers an error (an unexpected one with 500, logged) and audits it unless the grant already
   * did, naming the agent when client authentication had succeeded.
   */
  async function refuse(
    request: FastifyRequest,
    reply: FastifyReply,
    form: FormParams,
    error: unknown,
    agent: AgentRecord | null,
    tokenRequest: TokenRequest | null,
  ): Promise<{ answer: OAuthAnswer; audited: AuditRecord | null }> {
    let answer = oauthAnswerOf(error);
    if (answer === null) {
      request.log.error({ err: error }, 'unexpected error at the token endpoint');
      answer = UNEXPECTED_ERROR;
    }
    const audited = tokenRequest?.audited ?? null;
    if (audited === null) await auditEarlyRefusal(request, form, answer, error, agent?.id ?? null);
    for (const [name, value] of tokenRequest?.responseHeaders ?? []) reply.header(name, value);
    const basic = request.headers.authorization !== undefined;
    sendOAuthError(reply, answer, { error, ...(basic ? { basicRealm: config.issuer } : {}) });
    return { answer, audited };
  }

  /**
   * Refused before the handler ran: body too large, not a form, a bad Content-Length (RL-01, RL-06),
   * audited like any refusal; or by the per-address limit (app.ts), the only OAuthError thrown this
   * early, which is not: a flood over the limit must not become a flood of audit rows.
   */
  app.setErrorHandler(async (error, request, reply) => {
    const form = formParams(request.body);
    let answer = oauthAnswerOf(error);
    if (error instanceof OAuthError && answer !== null) sendOAuthError(reply, answer);
    else ({ answer } = await refuse(request, reply, form, error, null, null));
    metrics.recordTokenRequest(grantTypeLabel(form.grant_type), answer.status, 0, {
      decision: 'denied',
      rule: ruleFor(answer.error, answer.status),
    });
    return reply;
  });

  // RFC 6749 §3.2: the client MUST use POST; any other method is told so, in OAuth's format.
  app.route({
    method: ['GET', 'PUT', 'PATCH', 'DELETE'],
    url: TOKEN_PATH,
    schema: { hide: true },
    handler: async (_request, reply) => {
      reply.header('Allow', 'POST');
      const description = 'the token endpoint accepts POST only';
      return sendOAuthError(reply, { status: 405, error: 'invalid_request', description });
    },
  });

  app.post(
    TOKEN_PATH,
    {
      schema: {
        summary: 'Issue a token (RFC 6749, RFC 8693 token exchange, RFC 7523 JWT authorization grant)',
        description:
          'Form body. client_credentials, urn:ietf:params:oauth:grant-type:token-exchange and urn:ietf:params:oauth:grant-type:jwt-bearer; client authentication by client_secret_basic, client_secret_post, private_key_jwt or a workload credential (SPIFFE JWT-SVID, Kubernetes service-account token). Errors as {"error", "error_description"} (RFC 6749 §5.2).',
      },
    },
    async (request, reply) => {
      const started = process.hrtime.bigint();
      const form = withoutEmptyParameters(formParams(request.body));
      let agent: AgentRecord | null = null;
      let tokenRequest: TokenRequest | null = null;
      let status: number;
      let decision: { decision: 'granted' | 'denied'; rule: string };
      try {
        agent = await authenticator.authenticate(request.headers.authorization, form);
        const { handle, params } = grantParameters(form);
        tokenRequest = {
          agent,
          params,
          dpopProofs: request.raw.headersDistinct.dpop,
          responseHeaders: new Map(),
          body: null,
          audited: null,
        };
        await handle(tokenRequest);
        if (tokenRequest.body === null) throw new Error('the grant answered nothing');
        for (const [name, value] of tokenRequest.responseHeaders) reply.header(name, value);
        status = 200;
        decision = { decision: 'granted', rule: 'granted' };
        reply.code(200).type('application/json; charset=utf-8').send(tokenRequest.body);
      } catch (error) {
        const { answer, audited } = await refuse(request, reply, form, error, agent, tokenRequest);
        status = answer.status;
        decision = audited
          ? { decision: audited.decision, rule: audited.rule }
          : { decision: 'denied', rule: ruleFor(answer.error, answer.status) };
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.recordTokenRequest(grantTypeLabel(form.grant_type), status, seconds, decision);
      return reply;
    },
  );
}
