/**
 * buildApp(config, database): the whole service as one fastify instance — plugins in order, the
 * OAuth engine mounted through middie, health and admin routes. server.ts only listens and
 * closes; tests build the app the same way and talk to it over real HTTP.
 */
import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import middie from '@fastify/middie';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import type { Config, TrustProxy } from './config.js';
import { lineageKeepSeconds } from './domain/retention.js';
import { MAX_TOKEN_TTL_SECONDS } from './http/admin/schemas.js';
import { adminRoutes } from './http/admin/index.js';
import { consoleRoutes } from './http/console.js';
import { registerDocs } from './http/docs.js';
import { healthRoutes } from './http/health.js';
import { landingRoutes } from './http/landing.js';
import { tokenManagementRoutes } from './http/token-management.js';
import { registerHttpMetrics } from './http/metrics.js';
import { registerProblemHandlers } from './http/problem.js';
import { tokenEndpointRoutes } from './http/token-endpoint.js';
import { OAuthError } from './protocol/errors.js';
import type { Database } from './infra/database.js';
import { ChangeFeed, type ChangeEvent } from './infra/change-feed.js';
import { LineageStore } from './infra/lineage-store.js';
import { PeerGrantStore } from './infra/peer-grants.js';
import { ServiceMetrics } from './infra/metrics.js';
import { MemoryRateCounter, RedisRateCounter, type RateCounter } from './infra/rate-counter.js';
import { Registry } from './infra/registry.js';
import { claimDpopProof, purgeExpiredRecords } from './infra/replay-store.js';
import { enforceRetention, type RetentionJobPolicy } from './infra/retention.js';
import { SecurityEventStore } from './infra/security-events.js';
import { SigningKeyRing, type KeySet } from './infra/signing-keys.js';
import { DpopProofVerifier, dpopNonceSecret } from './protocol/dpop-proof.js';
import { OAuthEngine } from './protocol/engine.js';
import { AuthorizationGrantVerifier } from './protocol/authorization-grant.js';
import { createGrantHandlers } from './protocol/grants.js';
import { InputTokenVerifier } from './protocol/input-token.js';
import { createJwksFetcher, type JwksFetch } from './protocol/jwks-fetch.js';
import { OnDemandKeyRefresh } from './protocol/key-refresh.js';
import { OwnTokenVerifier } from './protocol/own-token.js';
import { NoStorageAdapter } from './protocol/provider-adapter.js';
import {
  AUTHORIZATION_SERVER_METADATA_PATH,
  createProvider,
  DPOP_PROOF_ALGS,
  JWKS_PATH,
  OPENID_CONFIGURATION_PATH,
  TOKEN_PATH,
  tokenTypeMetadata,
} from './protocol/provider.js';
import { securityEventMetadata } from './protocol/security-event-token.js';
import { SetDeliveryWorker } from './protocol/set-delivery.js';
import { securityEventPollRoutes } from './http/security-event-poll.js';
import { WorkloadCredentials } from './protocol/workload-credentials.js';
import { tokenManagementMetadata } from './protocol/token-management.js';
import { ClientAuthenticator } from './protocol/client-authentication.js';
import { TrustedIssuerKeys } from './protocol/trusted-issuer-keys.js';

export const MIGRATIONS_DIRECTORY = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'prisma',
  'migrations',
);

/** Longest token lifetime (CONTRACT §4: tokenTtlSeconds ≤ 3600) plus resource servers' JWKS cache time. */
const RETIRED_KEY_GRACE_SECONDS = 3600 + 600;
/** At most one reload on an unknown kid per process in this time, however many such tokens arrive. */
const UNKNOWN_KID_REFRESH_INTERVAL_MS = 5_000;
/** Token and admin request bodies are small; anything larger is refused with 413 (RL-01). */
const BODY_LIMIT_BYTES = 64 * 1024;
/**
 * Node enforces its request and header timeouts only when it sweeps its connections, every 30 s
 * by default: a client could hold a connection three times longer than allowed. Sweeping a tenth
 * of the timeout (at most every second) cuts it off close to the configured time.
 */
function connectionsCheckingInterval(requestTimeoutMs: number): number {
  return Math.min(1000, Math.max(10, Math.floor(requestTimeoutMs / 10)));
}
const REPLAY_PURGE_INTERVAL_MS = 5 * 60_000;
/** Retention (ADR 0015) works in whole days; hourly keeps partitions ahead and drops them on time. */
const RETENTION_INTERVAL_MS = 60 * 60_000;
/** A retention step that cannot get its lock this fast gives up until the next round. */
const RETENTION_LOCK_TIMEOUT_MS = 2_000;
/** Per-address rate-limit counters kept in process (without Redis): an LRU of this many addresses. */
const ADDRESS_LIMIT_CACHE_ENTRIES = 10_000;

const DISCOVERY_PATHS = new Set([OPENID_CONFIGURATION_PATH, AUTHORIZATION_SERVER_METADATA_PATH]);
const PROVIDER_PATHS = new Set([JWKS_PATH, ...DISCOVERY_PATHS]);

/** What the retention job keeps (ADR 0015), from the configuration. */
export function retentionPolicy(config: Config): RetentionJobPolicy {
  return {
    auditRetentionDays: config.auditRetentionDays,
    lineageKeepSeconds: lineageKeepSeconds({
      maxTokenTtlSeconds: MAX_TOKEN_TTL_SECONDS,
      clockToleranceSeconds: config.clockToleranceSeconds,
      graceDays: config.lineageRetentionGraceDays,
    }),
    lockTimeoutMs: RETENTION_LOCK_TIMEOUT_MS,
  };
}

/** Everything the routes share, decorated onto the app as `app.sts`. */
export interface ServiceContext {
  readonly config: Config;
  readonly database: Database;
  readonly registry: Registry;
  readonly lineage: LineageStore;
  readonly keys: () => KeySet;
  /** The signing keys' store: rotation, listing, and the refresh every instance runs periodically. */
  readonly signingKeys: SigningKeyRing;
  /** Verifies this service's own access tokens, wherever one is presented. */
  readonly ownTokens: OwnTokenVerifier;
  readonly engine: OAuthEngine;
  readonly metrics: ServiceMetrics;
  /** The one fetch of remote JWKS (trusted issuers, agents), checked address by address (AD-06). */
  readonly jwksFetch: JwksFetch;
  /** Announces committed changes to every instance, and tells this one of theirs (ADR 0017). */
  readonly changes: ChangeFeed;
  /** Revocation SET receivers and outbox (ADR 0026). */
  readonly securityEvents: SecurityEventStore;
  /** Pushes revocation SETs; `wake()` after a revocation commits here. */
  readonly setDelivery: SetDeliveryWorker;
  /** Client authentication by SPIFFE JWT-SVIDs and Kubernetes tokens, at every endpoint (ADR 0023). */
  readonly workloads: WorkloadCredentials;
  /** Client authentication at the token, introspection and revocation endpoints. */
  readonly clientAuthenticator: ClientAuthenticator;
  /** Grants of peer domains redeemed here: the foreign parents of local chains (ADR 0025). */
  readonly peerGrants: PeerGrantStore;
}

declare module 'fastify' {
  interface FastifyInstance {
    sts: ServiceContext;
  }
}

/**
 * oidc-provider derives every URL it compares or publishes (discovery endpoints, the expected
 * DPoP `htu`, client-assertion audiences) from the request's Host and X-Forwarded-* headers.
 * They come from the client, so they are replaced by the configured issuer's origin: metadata
 * can never be poisoned through a header, and what is expected is what the issuer says.
 */
function pinToIssuer(req: IncomingMessage, issuer: URL): void {
  req.headers.host = issuer.host;
  req.headers['x-forwarded-proto'] = issuer.protocol.replace(/:$/, '');
  delete req.headers['x-forwarded-host'];
  delete req.headers.forwarded;
}

/**
 * fastify's `trustProxy` for TRUST_PROXY (CONTRACT §1). A hop count trusts the socket peer and the
 * hops it names, up to that many; fastify's own number form trusts nothing, and `true` would take
 * the leftmost X-Forwarded-For value, which the client writes. The client address (`request.ip`)
 * is then the one the nearest untrusted hop presented.
 */
function trustedProxies(trust: TrustProxy): false | string[] | ((address: string, hop: number) => boolean) {
  switch (trust.kind) {
    case 'none':
      return false;
    case 'hops':
      return (_address, hop) => hop < trust.hops;
    case 'addresses':
      return [...trust.addresses];
  }
}

export async function buildApp(config: Config, database: Database): Promise<FastifyInstance> {
  const issuerOrigin = new URL(config.issuer);
  const app = Fastify({
    logger: {
      level: config.logLevel,
      // Tokens and secrets travel in headers and bodies; neither is ever logged.
      redact: ['req.headers.authorization', 'req.headers.cookie', 'req.headers.dpop'],
      serializers: {
        // A client that puts a token or secret in a query string (GET /token?client_secret=…)
        // must not get it into the logs: only the path is logged.
        // The client address as TRUST_PROXY defines it, the one the rate limits count by.
        req: (request: { method: string; url: string; ip?: string }) => ({
          method: request.method,
          path: request.url.split('?')[0],
          remoteAddress: request.ip,
        }),
      },
    },
    bodyLimit: BODY_LIMIT_BYTES,
    // Headers or a body that trickle in slower than this are cut off with 408 (SECURITY-CASES
    // RL-06: slowloris, slow-drip bodies), promptly.
    requestTimeout: config.requestTimeoutMs,
    http: {
      headersTimeout: config.requestTimeoutMs,
      connectionsCheckingInterval: connectionsCheckingInterval(config.requestTimeoutMs),
    },
    // Unique across instances, so a log line or an admin event names one request anywhere.
    genReqId: () => randomUUID(),
    // Only behind trusted proxies is the client address taken from X-Forwarded-For (rate limits
    // are per address).
    trustProxy: trustedProxies(config.trustProxy),
  });

  const redis = config.redisUrl
    ? new Redis(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false })
    : null;
  redis?.on('error', (error) => app.log.warn({ err: error }, 'redis error'));
  const rateCounter: RateCounter = redis
    ? new RedisRateCounter(redis, config.redisKeyPrefix)
    : new MemoryRateCounter();

  const registry = new Registry(database.prisma, { ttlMs: config.registryCacheTtlMs });
  // Every revocation writes its SET outbox rows in its own transaction (ADR 0026).
  const lineage = new LineageStore(database.prisma, database, {
    groupCommit: database.kind === 'postgresql',
    onRevoked: SecurityEventStore.recordRevocation,
  });
  const securityEvents = new SecurityEventStore(database.prisma);
  const peerGrants = new PeerGrantStore(database.prisma);
  const changes = new ChangeFeed(database, { log: app.log });
  const signingKeys = await SigningKeyRing.open(
    database.prisma,
    config.keyEncryptionKey,
    {
      retiredKeyGraceSeconds: RETIRED_KEY_GRACE_SECONDS,
      rotationDelaySeconds: config.keyRotationDelaySeconds,
    },
    (tx) => changes.publish(tx, 'keys'),
  );
  const keys = () => signingKeys.current;
  const metrics = new ServiceMetrics();
  /** A failed reload leaves the keys as they were; the next one tries again. */
  const refreshSigningKeys = async (): Promise<void> => {
    await signingKeys
      .refresh()
      .catch((error: unknown) => app.log.warn({ err: error }, 'could not refresh signing keys'));
  };

  const jwksFetcher = createJwksFetcher({
    allowLoopback: config.allowLoopbackHttpJwks,
    onRefused: (refusal) =>
      app.log.warn(
        { code: refusal.code, host: refusal.host, reason: refusal.message },
        'refused a JWKS fetch',
      ),
  });
  app.addHook('onClose', () => jwksFetcher.close());
  const jwksFetch = jwksFetcher.fetch;

  const ownTokens = new OwnTokenVerifier({
    issuer: config.issuer,
    keys,
    refreshKeys: new OnDemandKeyRefresh({
      refresh: refreshSigningKeys,
      minIntervalMs: UNKNOWN_KID_REFRESH_INTERVAL_MS,
    }),
    lineage,
    registry,
    clockToleranceSeconds: config.clockToleranceSeconds,
  });
  const verifier = new InputTokenVerifier({
    issuer: config.issuer,
    ownTokens,
    registry,
    trustedIssuerKeys: new TrustedIssuerKeys({
      allowLoopbackHttp: config.allowLoopbackHttpJwks,
      fetch: jwksFetch,
    }),
    clockToleranceSeconds: config.clockToleranceSeconds,
  });
  const peerKeys = new TrustedIssuerKeys({
    allowLoopbackHttp: config.allowLoopbackHttpJwks,
    fetch: jwksFetch,
  });
  const grants = createGrantHandlers({
    issuer: config.issuer,
    serviceMaxDepth: config.maxDelegationDepth,
    tokenRateLimit: config.tokenRateLimit,
    registry,
    lineage,
    verifier,
    keys,
    rateCounter,
    dpopProofs: new DpopProofVerifier({
      claimProof: (jkt, jti, expiresAt) => claimDpopProof(database.prisma, jkt, jti, expiresAt),
      nonceSecret: config.requireDpopNonce ? dpopNonceSecret(config.keyEncryptionKey) : null,
      algorithms: DPOP_PROOF_ALGS,
      tokenEndpoint: new URL(TOKEN_PATH, config.issuer).href,
    }),
    txnTokens:
      config.txnTokenTrustDomain === null
        ? null
        : { trustDomain: config.txnTokenTrustDomain, lifetimeSeconds: config.txnTokenLifetimeSeconds },
    logError: (error, message) => app.log.error({ err: error }, message),
    chaining: {
      grants: new AuthorizationGrantVerifier({
        issuer: config.issuer,
        registry,
        peerKeys,
        clockToleranceSeconds: config.clockToleranceSeconds,
      }),
      peerGrants,
    },
  });
  // What client authentication reads, by every method (registered keys and workload credentials).
  const authenticationDeps = {
    issuer: config.issuer,
    registry,
    prisma: database.prisma,
    clockToleranceSeconds: config.clockToleranceSeconds,
    allowLoopbackHttpJwks: config.allowLoopbackHttpJwks,
    jwksFetch,
  };
  const workloads = new WorkloadCredentials(authenticationDeps);
  const clientAuthenticator = new ClientAuthenticator({ ...authenticationDeps, workloads });
  const engine = new OAuthEngine((currentKeys) => {
    const provider = createProvider({
      issuer: config.issuer,
      keys: currentKeys,
      adapter: NoStorageAdapter,
      extraMetadata: {
        ...tokenTypeMetadata(config.txnTokenTrustDomain !== null),
        ...tokenManagementMetadata(config.issuer),
        ...securityEventMetadata(config.issuer),
      },
    });
    provider.on('server_error', (_ctx, error) => app.log.error({ err: error }, 'oauth server error'));
    // A connection that fails mid-request (a client gone, a slow one cut off: RL-06) reaches the
    // Koa app's 'error' event (the provider is the app), which would print to stderr; it belongs
    // in the log. oidc-provider's event types leave out Koa's own events.
    const koaApp: EventEmitter = provider;
    koaApp.on('error', (error: unknown) => app.log.warn({ err: error }, 'oauth connection error'));
    return provider;
  }, keys());
  // Keys are fixed when a provider is built: every change of the key set builds a new one.
  signingKeys.onChange((current) => engine.rebuild(current));
  // A change committed on another instance (ADR 0017), or a resync. Token revocations need
  // nothing here: their state is read from the database on every use.
  changes.onChange((event: ChangeEvent) => {
    if (event.kind !== 'keys') registry.invalidate();
    if (event.kind !== 'registry') void refreshSigningKeys();
  });

  const setDelivery = new SetDeliveryWorker({
    store: securityEvents,
    issuer: config.issuer,
    keys,
    keyEncryptionKey: config.keyEncryptionKey,
    allowLoopback: config.allowLoopbackHttpJwks,
    retry: {
      baseDelayMs: config.setDelivery.retryBaseMs,
      maxDelayMs: config.setDelivery.retryMaxMs,
      maxAttempts: config.setDelivery.maxAttempts,
    },
    intervalMs: config.setDelivery.intervalMs,
    log: app.log,
  });

  app.decorate('sts', {
    config,
    database,
    registry,
    lineage,
    keys,
    signingKeys,
    ownTokens,
    engine,
    metrics,
    jwksFetch,
    changes,
    securityEvents,
    setDelivery,
    workloads,
    clientAuthenticator,
    peerGrants,
  });
  registerProblemHandlers(app);
  // Before any route: @fastify/swagger collects routes as they are added.
  await registerDocs(app, { issuer: config.issuer });
  registerHttpMetrics(app, metrics, PROVIDER_PATHS);

  await app.register(rateLimit, {
    global: false,
    cache: ADDRESS_LIMIT_CACHE_ENTRIES,
    ...(redis ? { redis, nameSpace: `${config.redisKeyPrefix}rl:` } : {}),
  });
  // @fastify/rate-limit does not reach middie-mounted paths on its own (DESIGN.md): an explicit
  // onRequest hook, before the mount, limits the token endpoint by address. Per-client limits
  // need the authenticated client and run inside the grant handlers.
  const limitTokenEndpointByAddress = app.rateLimit({
    max: config.tokenRateLimitPerAddress,
    timeWindow: 60_000,
    keyGenerator: (request) => `token-addr:${request.ip}`,
    // The token endpoint answers in OAuth's error format, not as a problem document.
    errorResponseBuilder: (_request, context) =>
      new OAuthError(429, 'rate_limit_exceeded', `too many token requests, retry in ${context.after}`),
  });
  // The admin API is limited per credential-less caller address too; during a Redis outage it
  // stays usable (skipOnError), while the token endpoint fails closed.
  const limitAdminByAddress = app.rateLimit({
    max: config.adminRateLimit,
    timeWindow: 60_000,
    keyGenerator: (request) => `admin-addr:${request.ip}`,
    skipOnError: true,
  });
  app.addHook('onRequest', async (request, reply) => {
    const pathname = request.url.split('?')[0] ?? '';
    // The router decodes the path (`/%61dmin/agents` is `/admin/agents`): the matched route
    // decides, so no spelling of an admin path escapes the limit.
    const route = request.routeOptions.url ?? '';
    if (pathname.startsWith('/admin/') || route.startsWith('/admin/')) {
      return limitAdminByAddress.call(app, request, reply);
    }
    if (request.method !== 'POST' || pathname !== TOKEN_PATH) return;
    try {
      await limitTokenEndpointByAddress.call(app, request, reply);
    } catch (error) {
      if (error instanceof OAuthError) throw error;
      // The shared counter is unreachable: fail closed rather than serve unlimited (AV-02).
      request.log.error({ err: error }, 'rate-limit store unavailable');
      throw new OAuthError(
        503,
        'temporarily_unavailable',
        'the service is temporarily unavailable, retry later',
      );
    }
  });

  await app.register(middie, { hook: 'onRequest' });
  app.use((req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => {
    const pathname = (req.url ?? '/').split('?')[0] ?? '/';
    if (!PROVIDER_PATHS.has(pathname)) return next();
    if (DISCOVERY_PATHS.has(pathname)) {
      // RFC 8414 and OpenID Discovery serve the same document.
      req.url = OPENID_CONFIGURATION_PATH;
    } else if (pathname === JWKS_PATH) {
      // Resource servers may cache keys briefly; rotation publishes new keys before use (KM-01).
      res.setHeader('Cache-Control', 'public, max-age=300');
    }
    pinToIssuer(req, issuerOrigin);
    engine.handle(req, res);
  });

  await app.register(tokenEndpointRoutes, { grants, authenticator: clientAuthenticator });
  await app.register(healthRoutes, { database, keys });
  // RFC 7662 / RFC 7009, served by fastify beside the provider mount (CONTRACT §3.4).
  await app.register(tokenManagementRoutes);
  await app.register(securityEventPollRoutes);
  await app.register(adminRoutes, { prefix: '/admin' });
  await app.register(consoleRoutes);
  await app.register(landingRoutes, { issuer: config.issuer });

  metrics.watchChangeFeed(() => changes.listening);
  await changes.start();
  // A key change committed between loading the keys and listening was announced to no one here.
  await refreshSigningKeys();
  // The safety net behind the change feed, and what promotes a `next` key once its delay has passed.
  const keyRefresh = setInterval(() => void refreshSigningKeys(), config.keyRefreshIntervalMs);
  keyRefresh.unref();
  // Spent assertion and DPoP-proof records are only needed for their replay window.
  const replayPurge = setInterval(() => {
    purgeExpiredRecords(database.prisma).catch((error: unknown) =>
      app.log.warn({ err: error }, 'could not purge expired replay records'),
    );
  }, REPLAY_PURGE_INTERVAL_MS);
  replayPurge.unref();
  // Creates the coming days' partitions and drops those past retention; one round at a time.
  const policy = retentionPolicy(config);
  let retentionRound: Promise<void> | null = null;
  const runRetention = () => {
    retentionRound ??= enforceRetention(database, policy)
      .then((report) => {
        const { created, dropped, droppedFromDefault, failures } = report;
        if (created.length + dropped.length + Object.keys(droppedFromDefault).length > 0) {
          app.log.info({ created, dropped, droppedFromDefault }, 'retention round');
        }
        if (failures.length > 0) app.log.warn({ failures }, 'retention steps left for the next round');
      })
      .catch((error: unknown) => app.log.warn({ err: error }, 'could not enforce retention'))
      .finally(() => {
        retentionRound = null;
      });
  };
  runRetention();
  const retention = setInterval(runRetention, RETENTION_INTERVAL_MS);
  retention.unref();
  setDelivery.start();

  app.addHook('onClose', async () => {
    await setDelivery.close();
    clearInterval(keyRefresh);
    await changes.close();
    clearInterval(replayPurge);
    clearInterval(retention);
    await retentionRound;
    await signingKeys.close();
    await redis?.quit().catch(() => redis.disconnect());
  });

  return app;
}
