/**
 * Client authentication with a workload credential (ADR 0023): an agent registered with a SPIFFE
 * ID presents its JWT-SVID (draft-ietf-oauth-spiffe-client-auth §3.1), an agent bound to a
 * Kubernetes service account its service-account token (RFC 7523 `jwt-bearer`). No secret or key
 * is stored for such agents: the credential is verified against the keys an admin registered for
 * the trust domain or cluster, and names the agent by the identity it proves.
 *
 * In order: the claims (workload-assertion-claims.ts, every RFC 10070 rule), the trust domain or
 * cluster is registered, the signature by one of its keys (remote sets refetched on an unknown
 * `kid` at most every 30 s, through the guarded JWKS fetch: ADR 0009), the agent bound to the
 * identity is enabled and uses this method, a `client_id` sent beside it names that agent, and the
 * `jti` is spent once across every endpoint and instance.
 */
import { LRUCache } from 'lru-cache';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  decodeProtectedHeader,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from 'jose';
import {
  looksLikeServiceAccountSubject,
  parseSpiffeId,
  WORKLOAD_AUTH_METHODS,
  workloadKey,
  type WorkloadKind,
} from '../domain/workload-identity.js';
import type { PrismaClient } from '../infra/database.js';
import type { AgentRecord, Registry, WorkloadIssuerRecord } from '../infra/registry.js';
import { claimReplaySlot, replayDetectionId } from '../infra/replay-store.js';
import { standingDetail } from './client-auth-failure.js';
import { epochSeconds } from './clock.js';
import { CLIENT_ASSERTION_TYPE_JWT_BEARER, KEY_SET_CACHE_MAX_ENTRIES } from './constants.js';
import { failClosed } from './errors.js';
import type { JwksFetch } from './jwks-fetch.js';
import { isAllowedJwksUri } from './jwks-uri.js';
import { verifyJwt } from './jws-verify.js';
import {
  checkWorkloadAssertion,
  JWT_SPIFFE_ASSERTION_TYPE,
  WORKLOAD_ASSERTION_ALGS,
} from './workload-assertion-claims.js';

/** A refused workload credential; `detail` is for the audit row only (ADR 0011). */
export class WorkloadAuthenticationError extends Error {
  readonly detail: string;

  constructor(detail: string) {
    super(detail);
    this.name = 'WorkloadAuthenticationError';
    this.detail = detail;
  }
}

/** Which kind of workload credential a request presents, before anything is verified. */
export interface PresentedWorkload {
  readonly kind: WorkloadKind;
  readonly token: string;
}

export interface WorkloadCredentialsDeps {
  readonly issuer: string;
  readonly registry: Registry;
  /** Where assertion `jti`s are spent, shared with every other client assertion. */
  readonly prisma: PrismaClient;
  readonly clockToleranceSeconds: number;
  readonly allowLoopbackHttpJwks: boolean;
  readonly jwksFetch: JwksFetch;
}

/** SPIFFE bundle §4: the keys of a bundle that sign JWT-SVIDs. */
const JWT_SVID_USE = 'jwt-svid';

/**
 * A SPIFFE bundle endpoint's answer as a plain JWK Set of its JWT-SVID keys (`use` dropped: jose
 * takes only `sig` or none), so X.509 CA keys never verify a JWT.
 */
function bundleFetch(fetch: JwksFetch): JwksFetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    if (!response.ok) return response;
    const bundle = (await response.json()) as { keys?: unknown };
    const keys = Array.isArray(bundle.keys)
      ? bundle.keys
          .filter((key): key is Record<string, unknown> => typeof key === 'object' && key !== null)
          .filter((key) => key.use === JWT_SVID_USE)
          .map(({ use: _use, ...key }) => key)
      : [];
    return new Response(JSON.stringify({ keys }), {
      status: 200,
      headers: { 'content-type': 'application/json' },
    });
  };
}

export class WorkloadCredentials {
  readonly #deps: WorkloadCredentialsDeps;
  /** Key sets by trust domain or cluster row version: an admin edit takes effect at once. */
  readonly #keySets = new LRUCache<string, JWTVerifyGetKey>({ max: KEY_SET_CACHE_MAX_ENTRIES });

  constructor(deps: WorkloadCredentialsDeps) {
    this.#deps = deps;
  }

  /**
   * The workload credential a request presents, or null when it presents none (a secret, a
   * `private_key_jwt` assertion, nothing). A JWT-SVID by its assertion type; a Kubernetes token by
   * the `jwt-bearer` type with a service-account `sub` and a registered cluster as `iss` (a
   * `private_key_jwt` assertion has `iss` = `sub` = its client_id, which is never both).
   */
  async presented(
    assertionType: string | undefined,
    assertion: string | undefined,
  ): Promise<PresentedWorkload | null> {
    if (assertion === undefined) return null;
    if (assertionType === JWT_SPIFFE_ASSERTION_TYPE) return { kind: 'spiffe', token: assertion };
    if (assertionType !== CLIENT_ASSERTION_TYPE_JWT_BEARER) return null;
    let claims: Record<string, unknown>;
    try {
      claims = decodeJwt(assertion);
    } catch {
      return null;
    }
    if (!looksLikeServiceAccountSubject(claims.sub) || typeof claims.iss !== 'string') return null;
    const cluster = await failClosed(() =>
      this.#deps.registry.getWorkloadIssuer('kubernetes', claims.iss as string),
    );
    return cluster ? { kind: 'kubernetes', token: assertion } : null;
  }

  /** The agent the credential authenticates; throws WorkloadAuthenticationError or ServiceUnavailable. */
  async authenticate(presented: PresentedWorkload, clientId: string | undefined): Promise<AgentRecord> {
    const { kind, token } = presented;
    let header: Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      header = decodeProtectedHeader(token) as Record<string, unknown>;
      claims = decodeJwt(token);
    } catch {
      throw new WorkloadAuthenticationError('invalid client assertion format');
    }
    const tolerance = this.#deps.clockToleranceSeconds;
    const check = checkWorkloadAssertion(kind, claims, header, {
      issuer: this.#deps.issuer,
      ...(kind === 'kubernetes' && typeof claims.iss === 'string' ? { clusterIssuer: claims.iss } : {}),
      now: epochSeconds(),
      clockToleranceSeconds: tolerance,
    });
    if (!check.ok) throw new WorkloadAuthenticationError(check.problem);

    const issuerName =
      check.identity.kind === 'spiffe'
        ? (parseSpiffeId(check.identity.spiffeId)?.trustDomain ?? '')
        : check.identity.issuer;
    const trust = await failClosed(() => this.#deps.registry.getWorkloadIssuer(kind, issuerName));
    if (!trust) {
      throw new WorkloadAuthenticationError(
        kind === 'spiffe' ? 'the trust domain is not registered' : 'the cluster is not registered',
      );
    }
    const keys = this.#keysFor(trust);
    if (!keys) throw new WorkloadAuthenticationError('the trust domain or cluster has no usable keys');
    try {
      await verifyJwt(token, keys, { algorithms: WORKLOAD_ASSERTION_ALGS, clockTolerance: tolerance });
    } catch (error) {
      throw new WorkloadAuthenticationError(
        error instanceof Error ? error.message : 'client assertion signature or claims are invalid',
      );
    }

    const agent = await failClosed(() =>
      this.#deps.registry.getAgentByWorkloadIdentity(workloadKey(check.identity)),
    );
    if (!agent) throw new WorkloadAuthenticationError('no agent is bound to this workload identity');
    if (agent.status !== 'enabled') throw new WorkloadAuthenticationError(standingDetail(agent.status));
    if (agent.tokenEndpointAuthMethod !== WORKLOAD_AUTH_METHODS[kind]) {
      throw new WorkloadAuthenticationError('the authentication method does not match the registered one');
    }
    // draft-ietf-oauth-spiffe-client-auth §3.1 step 5: the identity is associated with the client.
    if (clientId !== undefined && clientId !== agent.id) {
      throw new WorkloadAuthenticationError(
        'client_id mismatch: another agent is bound to this workload identity',
      );
    }
    const expiresAt = new Date((check.exp + tolerance) * 1000);
    const first = await failClosed(() =>
      claimReplaySlot(
        this.#deps.prisma,
        replayDetectionId(`workload:${check.replayScope}`, check.jti),
        expiresAt,
      ),
    );
    if (!first) throw new WorkloadAuthenticationError('client assertion tokens must only be used once');
    return agent;
  }

  #keysFor(trust: WorkloadIssuerRecord): JWTVerifyGetKey | null {
    const cached = this.#keySets.get(trust.version);
    if (cached) return cached;
    let set: JWTVerifyGetKey;
    if (trust.jwks) {
      set = createLocalJWKSet(trust.jwks as JSONWebKeySet);
    } else if (trust.jwksUri && isAllowedJwksUri(trust.jwksUri, this.#deps.allowLoopbackHttpJwks)) {
      const fetch = trust.kind === 'spiffe' ? bundleFetch(this.#deps.jwksFetch) : this.#deps.jwksFetch;
      set = createRemoteJWKSet(new URL(trust.jwksUri), {
        timeoutDuration: 3_000,
        // An unknown kid refetches the set at most this often (a rotated bundle is seen at once,
        // a flood of made-up kids costs one fetch per 30 s).
        cooldownDuration: 30_000,
        // SPIFFE Federation §4.2: bundles are re-polled; five minutes is SPIRE's refresh hint.
        cacheMaxAge: 5 * 60_000,
        [customFetch]: fetch,
      });
    } else {
      return null;
    }
    for (const key of [...this.#keySets.keys()])
      if (key.startsWith(`${trust.id}@`)) this.#keySets.delete(key);
    this.#keySets.set(trust.version, set);
    return set;
  }
}
