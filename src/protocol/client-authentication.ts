/**
 * Client authentication at the token, introspection and revocation endpoints (ADR 0027), one
 * implementation for all three, step for step as oidc-provider's `shared/client_auth.js` does it:
 *
 * - `client_secret_basic` (RFC 6749 §2.3.1: both halves form-urldecoded) and `client_secret_post`,
 *   compared against the stored digest in constant time (ADR 0002);
 * - `private_key_jwt` (RFC 7523 §2.2, §3): an asymmetric signature by one of the agent's registered
 *   keys, the same claim checks as the token endpoint (client-assertion-claims.ts), and each `jti`
 *   once across every endpoint and instance (infra/replay-store.ts).
 *
 * Exactly one mechanism per request; the agent must exist, be enabled and use exactly the method it
 * was registered with: Basic and a body secret do not stand in for each other (SECURITY-CASES CA-03).
 */
import { LRUCache } from 'lru-cache';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  decodeProtectedHeader,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  type ProtectedHeaderParameters,
} from 'jose';
import { clientSecretMatches } from '../infra/client-secrets.js';
import type { PrismaClient } from '../infra/database.js';
import type { AgentRecord, Registry } from '../infra/registry.js';
import { claimReplaySlot, replayDetectionId } from '../infra/replay-store.js';
import { hasControlCharacter } from '../domain/audit-field.js';
import { clientAssertionProblem } from './client-assertion-claims.js';
import { CLIENT_ASSERTION_TYPE_JWT_BEARER, KEY_SET_CACHE_MAX_ENTRIES } from './constants.js';
import { CLIENT_AUTHENTICATION_FAILED, standingDetail } from './client-auth-failure.js';
import { failClosed } from './errors.js';
import type { JwksFetch } from './jwks-fetch.js';
import { isAllowedJwksUri } from './jwks-uri.js';
import { verifyJwt } from './jws-verify.js';
import { CLIENT_ASSERTION_ALGS } from './provider.js';
import { WorkloadAuthenticationError, type WorkloadCredentials } from './workload-credentials.js';
import { epochSeconds } from './clock.js';

/** RFC 7523 §2.2. */
export const CLIENT_ASSERTION_TYPE = CLIENT_ASSERTION_TYPE_JWT_BEARER;

/** Parameters by which a client identifies or authenticates itself in the body (RFC 6749 §2.3, RFC 7521 §4.2). */
export const CLIENT_AUTH_PARAMETERS = [
  'client_id',
  'client_secret',
  'client_assertion',
  'client_assertion_type',
] as const;

type AuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';

/** Form parameters as a form parser yields them: a repeated name is an array. */
export type FormParams = Readonly<Record<string, string | readonly string[] | undefined>>;

/**
 * A refused authentication: `invalid_request` (400) for a malformed one, `invalid_client` (401)
 * otherwise. The message is public: for `invalid_client` it is the same for every reason (an
 * unknown, disabled or deleted agent, a wrong method, secret or assertion), so a caller learns
 * nothing about an agent id; `detail` says which, for the audit row (client-auth-failure.ts).
 */
export class ClientAuthenticationError extends Error {
  readonly error: 'invalid_request' | 'invalid_client';
  readonly status: 400 | 401;
  /** The client used HTTP Basic: a 401 then carries `WWW-Authenticate: Basic` (RFC 6749 §5.2). */
  readonly basic: boolean;
  /** The precise reason, never sent to the client. */
  readonly detail: string;

  constructor(
    error: 'invalid_request' | 'invalid_client',
    detail: string,
    basic: boolean,
    publicDescription?: string,
  ) {
    super(publicDescription ?? (error === 'invalid_client' ? CLIENT_AUTHENTICATION_FAILED : detail));
    this.name = 'ClientAuthenticationError';
    this.error = error;
    this.status = error === 'invalid_client' ? 401 : 400;
    this.basic = basic;
    this.detail = detail;
  }
}

export interface ClientAuthenticatorDeps {
  readonly issuer: string;
  readonly registry: Registry;
  /** Where client-assertion `jti`s are claimed, shared with the token endpoint. */
  readonly prisma: PrismaClient;
  readonly clockToleranceSeconds: number;
  readonly allowLoopbackHttpJwks: boolean;
  /** The guarded fetch every remote JWKS goes through (jwks-fetch.ts). */
  readonly jwksFetch: JwksFetch;
  /** Agents that authenticate with a workload credential (ADR 0023). */
  readonly workloads: WorkloadCredentials;
}

/** What the request presents, before any of it is checked against the registry. */
interface Presented {
  readonly clientId: string;
  /** The method the credential presented stands for; null when none was presented. */
  readonly method: AuthMethod | null;
  readonly secret?: string;
  readonly assertion?: { readonly token: string; readonly payload: JWTPayload };
}

/** RFC 6749 Appendix A: client ids and secrets are VSCHARs. */
const NOT_VSCHAR = /[^\x20-\x7E]/;

function isValidBase64(input: string): boolean {
  const match = /^([A-Za-z0-9+/]*)(={0,2})$/.exec(input);
  if (!match?.[1]) return false;
  const remainder = match[1].length % 4;
  if (!match[2]) return remainder !== 1;
  return (match[1].length + match[2].length) % 4 === 0 && match[2].length === 4 - remainder;
}

/** RFC 6749 §2.3.1: each half of the Basic credentials is application/x-www-form-urlencoded. */
function formUrlDecode(value: string): string {
  const decoded = decodeURIComponent(value.replace(/\+/g, '%20'));
  if (NOT_VSCHAR.test(decoded)) throw new Error('invalid character');
  return decoded;
}

/** A form parameter given once, or undefined; a repeated one is refused (RFC 6749 §3.2). */
function single(params: FormParams, name: string, basic: boolean): string | undefined {
  const value = Object.hasOwn(params, name) ? params[name] : undefined;
  if (value === undefined || typeof value === 'string') return value;
  throw new ClientAuthenticationError('invalid_request', `${name} must not be repeated`, basic);
}

export class ClientAuthenticator {
  readonly #deps: ClientAuthenticatorDeps;
  /** Remote key sets by agent and JWKS URI, so a changed URI gets a fresh set; bounded, LRU. */
  readonly #remoteKeys = new LRUCache<string, JWTVerifyGetKey>({ max: KEY_SET_CACHE_MAX_ENTRIES });

  constructor(deps: ClientAuthenticatorDeps) {
    this.#deps = deps;
  }

  /** The authenticated, enabled agent; throws ClientAuthenticationError or ServiceUnavailable. */
  async authenticate(authorization: string | undefined, params: FormParams): Promise<AgentRecord> {
    const basic = authorization !== undefined;
    const refuse = (description: string) =>
      new ClientAuthenticationError('invalid_client', description, basic);
    const workload = await this.#workloadAgent(authorization, params, refuse);
    if (workload) return workload;
    const presented = this.#presented(authorization, params);
    // PostgreSQL text cannot hold a NUL: such an id names no client, and is never looked up.
    if (hasControlCharacter(presented.clientId)) throw refuse('client_id contains a control character');
    const agent = await failClosed(() => this.#deps.registry.getAgent(presented.clientId));
    if (!agent || agent.status !== 'enabled') throw refuse(standingDetail(agent?.status ?? null));
    // A `client_id` alone authenticates nobody, whatever method the agent registered.
    if (presented.method === null) throw refuse('no client authentication was provided');
    if (presented.method !== agent.tokenEndpointAuthMethod) {
      throw refuse('the authentication method does not match the registered one');
    }
    if (presented.secret !== undefined) {
      if (!agent.secretHash || !clientSecretMatches(presented.secret, agent.secretHash)) {
        throw refuse('invalid secret provided');
      }
      return agent;
    }
    if (presented.assertion !== undefined) {
      await this.#verifyAssertion(agent, presented.assertion.token, presented.assertion.payload, refuse);
      return agent;
    }
    throw refuse('client authentication failed');
  }

  /**
   * The agent a workload credential (a JWT-SVID or a Kubernetes token) authenticates (ADR 0023);
   * null when the request presents none.
   */
  async #workloadAgent(
    authorization: string | undefined,
    params: FormParams,
    refuse: (description: string) => ClientAuthenticationError,
  ): Promise<AgentRecord | null> {
    const basic = authorization !== undefined;
    const workload = await this.#deps.workloads.presented(
      single(params, 'client_assertion_type', basic),
      single(params, 'client_assertion', basic),
    );
    if (!workload) return null;
    if (basic || single(params, 'client_secret', basic) !== undefined) {
      throw new ClientAuthenticationError(
        'invalid_request',
        'client authentication must only be provided using one mechanism',
        basic,
      );
    }
    try {
      return await this.#deps.workloads.authenticate(workload, single(params, 'client_id', basic));
    } catch (error) {
      throw error instanceof WorkloadAuthenticationError ? refuse(error.detail) : error;
    }
  }

  /** Which client the request names and by which method, in oidc-provider's order of checks. */
  #presented(authorization: string | undefined, params: FormParams): Presented {
    const basic = authorization !== undefined;
    const invalidRequest = (description: string) =>
      new ClientAuthenticationError('invalid_request', description, basic);
    const [bodyClientId, secret, assertion, assertionType] = CLIENT_AUTH_PARAMETERS.map((name) =>
      single(params, name, basic),
    );
    if ([authorization, assertion, secret].filter(Boolean).length > 1) {
      throw invalidRequest('client authentication must only be provided using one mechanism');
    }
    let clientId = bodyClientId;
    const setClientId = (value: string) => {
      if (clientId !== undefined && value !== clientId) throw invalidRequest('client_id mismatch');
      clientId = value;
    };

    let method: AuthMethod | null = null;
    let presentedSecret: string | undefined;
    let presentedAssertion: Presented['assertion'];
    if (secret) {
      presentedSecret = secret;
      method = 'client_secret_post';
    } else if (authorization !== undefined) {
      const credentials = this.#basicCredentials(authorization, invalidRequest);
      setClientId(credentials.clientId);
      presentedSecret = credentials.secret;
      method = 'client_secret_basic';
    } else if (assertion !== undefined) {
      let payload: JWTPayload;
      try {
        payload = decodeJwt(assertion);
      } catch {
        throw invalidRequest('invalid client_assertion format');
      }
      if (typeof payload.sub !== 'string' || payload.sub === '') {
        throw new ClientAuthenticationError('invalid_client', 'client assertion sub is required', basic);
      }
      if (assertionType === undefined) throw invalidRequest('client_assertion_type must be provided');
      if (assertionType !== CLIENT_ASSERTION_TYPE) {
        throw invalidRequest(`client_assertion_type must have value ${CLIENT_ASSERTION_TYPE}`);
      }
      setClientId(payload.sub);
      presentedAssertion = { token: assertion, payload };
      method = 'private_key_jwt';
    }

    if (!clientId) {
      // RFC 6749 §5.2: a request with no client authentication at all is invalid_client, as the
      // token endpoint answers it; half-given credentials are a malformed request.
      const anyGiven = CLIENT_AUTH_PARAMETERS.some((name) => Object.hasOwn(params, name));
      if (anyGiven) throw invalidRequest('no client authentication mechanism provided');
      const none = 'no client authentication was provided';
      throw new ClientAuthenticationError('invalid_client', none, basic, none);
    }
    return {
      clientId,
      method,
      ...(presentedSecret !== undefined ? { secret: presentedSecret } : {}),
      ...(presentedAssertion !== undefined ? { assertion: presentedAssertion } : {}),
    };
  }

  /** RFC 7617 and RFC 6749 §2.3.1. */
  #basicCredentials(
    authorization: string,
    invalidRequest: (description: string) => ClientAuthenticationError,
  ): { clientId: string; secret: string } {
    const parts = authorization.split(' ');
    if (parts.length !== 2 || parts[0]?.toLowerCase() !== 'basic' || !isValidBase64(parts[1] ?? '')) {
      throw invalidRequest('invalid authorization header value format');
    }
    const decoded = Buffer.from(parts[1] ?? '', 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon === -1) throw invalidRequest('invalid authorization header value format');
    let clientId: string;
    let secret: string;
    try {
      clientId = formUrlDecode(decoded.slice(0, colon));
      secret = formUrlDecode(decoded.slice(colon + 1));
    } catch {
      throw invalidRequest(
        'client_id and client_secret in the authorization header are not properly encoded',
      );
    }
    if (!secret) throw invalidRequest('client_secret must be provided in the Authorization header');
    return { clientId, secret };
  }

  /** RFC 7523 §3, in the token endpoint's order: claims, signature, then the one-time `jti`. */
  async #verifyAssertion(
    agent: AgentRecord,
    token: string,
    payload: JWTPayload,
    refuse: (description: string) => ClientAuthenticationError,
  ): Promise<void> {
    let header: ProtectedHeaderParameters;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw refuse('invalid client assertion');
    }
    // Asymmetric algorithms only: never `none`, never HMAC keyed with a public key (CA-06).
    if (typeof header.alg !== 'string' || !CLIENT_ASSERTION_ALGS.includes(header.alg)) {
      throw refuse('client assertion alg is not accepted');
    }
    const tolerance = this.#deps.clockToleranceSeconds;
    const problem = clientAssertionProblem(
      payload as Record<string, unknown>,
      header as Record<string, unknown>,
      {
        clientId: agent.id,
        issuer: this.#deps.issuer,
        now: epochSeconds(),
        clockToleranceSeconds: tolerance,
      },
    );
    if (problem !== null) throw refuse(problem);

    const keys = this.#keysOf(agent);
    if (!keys) throw refuse('the client has no usable keys');
    try {
      await verifyJwt(token, keys, { algorithms: CLIENT_ASSERTION_ALGS, clockTolerance: tolerance });
    } catch (error) {
      // jose says which check failed (signature, key, exp, nbf): the audit row keeps it.
      throw refuse(
        error instanceof Error ? error.message : 'client assertion signature or claims are invalid',
      );
    }

    // Checked by clientAssertionProblem above.
    const { iss, jti, exp } = payload as { iss: string; jti: string; exp: number };
    const expiresAt = new Date((exp + tolerance) * 1000);
    const first = await failClosed(() =>
      claimReplaySlot(this.#deps.prisma, replayDetectionId(iss, jti), expiresAt),
    );
    if (!first) throw refuse('client assertion tokens must only be used once');
  }

  #keysOf(agent: AgentRecord): JWTVerifyGetKey | null {
    if (agent.jwks) return createLocalJWKSet(agent.jwks as unknown as JSONWebKeySet);
    if (!agent.jwksUri || !isAllowedJwksUri(agent.jwksUri, this.#deps.allowLoopbackHttpJwks)) return null;
    const cacheKey = `${agent.id}\n${agent.jwksUri}`;
    let keys = this.#remoteKeys.get(cacheKey);
    if (!keys) {
      // Drop the set of an earlier URI of the same agent.
      for (const key of [...this.#remoteKeys.keys()])
        if (key.startsWith(`${agent.id}\n`)) this.#remoteKeys.delete(key);
      keys = createRemoteJWKSet(new URL(agent.jwksUri), {
        timeoutDuration: 3_000,
        cooldownDuration: 30_000,
        cacheMaxAge: 10 * 60_000,
        [customFetch]: this.#deps.jwksFetch,
      });
      this.#remoteKeys.set(cacheKey, keys);
    }
    return keys;
  }
}
