/**
 * The only reader of process.env (STYLE.md). Reads CONTRACT.md §1 once, validates every value and
 * returns one frozen Config. A bad value stops start-up with a one-line reason.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly issuer: string;
  /** PostgreSQL connection string; null selects the embedded PGlite database under dataDir. */
  readonly databaseUrl: string | null;
  readonly dataDir: string;
  /**
   * Most pooled PostgreSQL connections of this instance; each instance also holds one LISTEN
   * connection (change-feed.ts). Size it so that instances × (pool + 1) stays under the server's
   * max_connections with room for administration (README, "Running several instances").
   */
  readonly databasePoolSize: number;
  /**
   * How long a registry entry is served from this instance's cache (ADR 0004). Every write reaches
   * every instance through the change feed at once (ADR 0017); the TTL is the safety net for a
   * notification lost while its connection was down.
   */
  readonly registryCacheTtlMs: number;
  /**
   * How often this instance reloads its signing keys from the database: applies due transitions
   * and is the safety net behind the change feed for rotations and revocations made elsewhere.
   */
  readonly keyRefreshIntervalMs: number;
  readonly redisUrl: string | null;
  /** Prefix of every Redis key, so several deployments (or test servers) can share one Redis. */
  readonly redisKeyPrefix: string;
  readonly adminToken: string;
  /** 32-byte AES-256-GCM key that encrypts signing keys at rest. */
  readonly keyEncryptionKey: Buffer;
  /** Token-endpoint requests per authenticated client per minute. */
  readonly tokenRateLimit: number;
  /** Token-endpoint requests per remote address per minute (many agents may share one address). */
  readonly tokenRateLimitPerAddress: number;
  /** Admin API requests per remote address per minute. */
  readonly adminRateLimit: number;
  readonly logLevel: string;
  /** Service-wide ceiling on delegation depth (number of actors in `act`). */
  readonly maxDelegationDepth: number;
  /** Accepted clock skew for `exp`, `nbf`, `iat` of input tokens and client assertions (ST-06). */
  readonly clockToleranceSeconds: number;
  /**
   * Development only: allow JWKS of trusted issuers and agents on loopback addresses, over
   * `http://` too; when off, no JWKS fetch connects to loopback, whatever the host name resolves
   * to. Never in production: a JWKS fetched over plain HTTP can be substituted.
   */
  readonly allowLoopbackHttpJwks: boolean;
  /**
   * Which proxies' X-Forwarded-For to believe (rate limits, logs): none, the nearest `hops`
   * proxies, or the proxies at these addresses/CIDRs. The client address is the one the nearest
   * untrusted hop presented, never a value the client chose (CONTRACT §1).
   */
  readonly trustProxy: TrustProxy;
  /**
   * Time for a whole request, headers and body, to arrive; a slower one is cut off with 408
   * (SECURITY-CASES RL-06: slow-drip bodies, slowloris headers).
   */
  readonly requestTimeoutMs: number;
  /**
   * How long a rotated-in signing key is published in the JWKS before it signs, so resource
   * servers' JWKS caches hold it first (RFC 9700 §2.6). 0 signs with it at once.
   */
  readonly keyRotationDelaySeconds: number;
  /**
   * RFC 9449 §8 server nonces (`DPOP_NONCE=required`): every DPoP proof at the token endpoint must
   * carry a current nonce of this service, else `use_dpop_nonce` with a fresh one in `DPoP-Nonce`.
   * Nonces are derived from `keyEncryptionKey` (ADR 0012), so every instance accepts them.
   */
  readonly requireDpopNonce: boolean;
  /** Audit events are kept at least this many days, then dropped by day partition (ADR 0015). */
  readonly auditRetentionDays: number;
  /**
   * Lineage (issued_tokens) is kept until its chain's last token has expired, plus this many days,
   * then dropped by day partition (ADR 0015). The chain view of a dropped chain answers 404.
   */
  readonly lineageRetentionGraceDays: number;
  /**
   * Revocation SET push delivery (RFC 8935, ADR 0026): how often the outbox is looked at when no
   * revocation on this instance wakes the worker (SET_DELIVERY_INTERVAL_MS), the delay after a
   * first failed push, doubled after each further one up to SET_DELIVERY_RETRY_MAX_MS
   * (SET_DELIVERY_RETRY_BASE_MS), and the attempts before a SET is given up
   * (SET_DELIVERY_MAX_ATTEMPTS).
   */
  readonly setDelivery: {
    readonly intervalMs: number;
    readonly retryBaseMs: number;
    readonly retryMaxMs: number;
    readonly maxAttempts: number;
  };
  /**
   * The Trust Domain this service issues Transaction Tokens for (the `aud` of every Txn-Token,
   * ADR 0024); null turns Txn-Tokens off and `requested_token_type=...:txn_token` is refused.
   */
  readonly txnTokenTrustDomain: string | null;
  /** Lifetime of a Txn-Token in seconds; never beyond its subject token's `exp` (ADR 0024). */
  readonly txnTokenLifetimeSeconds: number;
  /** Notes about insecure development defaults, printed once, loudly, at start-up. */
  readonly warnings: readonly string[];
}

export type TrustProxy =
  | { readonly kind: 'none' }
  | { readonly kind: 'hops'; readonly hops: number }
  | { readonly kind: 'addresses'; readonly addresses: readonly string[] };

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Readonly<Record<string, string | undefined>>;

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max)
    throw new ConfigError(`${name} must be between ${min} and ${max}, got ${raw}`);
  return value;
}

function boolean(env: Env, name: string): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '' || raw === 'false' || raw === '0') return false;
  if (raw === 'true' || raw === '1') return true;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

/** The longest a Txn-Token may live: the draft wants "minutes or less" (ADR 0024). */
export const TXN_TOKEN_MAX_LIFETIME_SECONDS = 300;

/**
 * `TXN_TOKEN_TRUST_DOMAIN`: a printable name without spaces (a DNS name, URI or URN). It may not be
 * the issuer, which is the audience of the admin API's tokens.
 */
function trustDomain(raw: string | undefined, issuer: string): string | null {
  if (raw === undefined || raw === '') return null;
  if (!/^[\x21-\x7E]{1,255}$/.test(raw)) {
    throw new ConfigError('TXN_TOKEN_TRUST_DOMAIN must be 1 to 255 printable characters without spaces');
  }
  if (raw.replace(/\/$/, '') === issuer)
    throw new ConfigError('TXN_TOKEN_TRUST_DOMAIN must not be the ISSUER');
  return raw;
}

/** `DPOP_NONCE`: unset (no server nonces) or `required`. */
function dpopNonce(raw: string | undefined): boolean {
  if (raw === undefined || raw === '') return false;
  if (raw === 'required') return true;
  throw new ConfigError(`DPOP_NONCE must be "required" or unset, got "${raw}"`);
}

function url(name: string, raw: string, protocols: readonly string[]): string {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be a URL, got "${raw}"`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${name} must use ${protocols.join(' or ')}, got "${parsed.protocol}"`);
  }
  return raw;
}

function redisKeyPrefix(raw: string | undefined): string {
  const prefix = raw || 'agent-sts:';
  if (!/^[A-Za-z0-9:._-]{1,64}$/.test(prefix)) {
    throw new ConfigError(
      'REDIS_KEY_PREFIX must be 1 to 64 characters of letters, digits, ":", ".", "_" or "-"',
    );
  }
  return prefix;
}

/** One proxy address, or a CIDR with a prefix length that fits its family. */
function isAddressOrCidr(value: string): boolean {
  const [address = '', prefix, ...rest] = value.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * TRUST_PROXY: unset, `false` or `0` trusts no proxy; a whole number trusts that many hops in
 * front of the service; a comma-separated list trusts proxies at those addresses/CIDRs. `true`
 * (every hop, so the leftmost value, which the client writes) is refused.
 */
function trustProxy(raw: string | undefined): TrustProxy {
  const value = (raw ?? '').trim();
  if (value === '' || value === 'false' || value === '0') return Object.freeze({ kind: 'none' });
  if (value === 'true') {
    throw new ConfigError(
      'TRUST_PROXY=true would take the client address from a value the client writes; give the number of proxies in front of the service (e.g. 1) or their addresses/CIDRs (e.g. 10.0.0.0/8,127.0.0.1)',
    );
  }
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops > 32) throw new ConfigError(`TRUST_PROXY must be a hop count between 1 and 32, got ${value}`);
    return Object.freeze({ kind: 'hops', hops });
  }
  const addresses = value.split(',').map((entry) => entry.trim());
  const bad = addresses.find((entry) => !isAddressOrCidr(entry));
  if (bad !== undefined) {
    throw new ConfigError(
      `TRUST_PROXY must be a hop count or a comma-separated list of IP addresses/CIDRs, got "${bad}"`,
    );
  }
  return Object.freeze({ kind: 'addresses', addresses: Object.freeze(addresses) });
}

/** Accepts 32 bytes as 64 hex characters or as base64/base64url. */
export function decodeKeyEncryptionKey(raw: string): Buffer {
  const trimmed = raw.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed)
    ? Buffer.from(trimmed, 'hex')
    : Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (key.length !== 32) {
    throw new ConfigError('KEY_ENCRYPTION_KEY must be 32 bytes, as 64 hex characters or base64');
  }
  return key;
}

/** Reads a development secret from dataDir, creating it on first start. */
function developmentSecret(
  dataDir: string,
  file: string,
  create: () => string,
): { value: string; created: boolean } {
  const filePath = path.join(dataDir, file);
  if (existsSync(filePath)) return { value: readFileSync(filePath, 'utf8').trim(), created: false };
  mkdirSync(dataDir, { recursive: true });
  const value = create();
  writeFileSync(filePath, value + '\n', { mode: 0o600 });
  return { value, created: true };
}

export function loadConfig(env: Env = process.env): Config {
  const warnings: string[] = [];
  const port = integer(env, 'PORT', 3000, 0, 65535);
  const host = env.HOST || '127.0.0.1';
  const issuer = env.ISSUER
    ? url('ISSUER', env.ISSUER, ['http:', 'https:']).replace(/\/$/, '')
    : `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (new URL(issuer).search || new URL(issuer).hash)
    throw new ConfigError('ISSUER must not have a query or fragment');
  // Endpoints are served at the root of this server, and their URLs are built from the issuer's
  // origin; a path prefix would publish URLs the server does not answer.
  if (new URL(issuer).pathname !== '/') throw new ConfigError('ISSUER must be an origin, without a path');
  const databaseUrl = env.DATABASE_URL
    ? url('DATABASE_URL', env.DATABASE_URL, ['postgres:', 'postgresql:'])
    : null;
  const dataDir = path.resolve(env.DATA_DIR || './.data');
  // ADR 0016: PGlite survives a killed process, not a machine crash (no fsync reaches the disk).
  if (!databaseUrl)
    warnings.push(
      `DATABASE_URL is not set: using the embedded PGlite in ${dataDir}, which never fsyncs; it survives a killed process, but an operating-system crash or power loss may lose recent commits or corrupt it (development only)`,
    );
  const redisUrl = env.REDIS_URL ? url('REDIS_URL', env.REDIS_URL, ['redis:', 'rediss:']) : null;
  const logLevel = env.LOG_LEVEL || 'info';
  if (!LOG_LEVELS.has(logLevel))
    throw new ConfigError(`LOG_LEVEL must be one of ${[...LOG_LEVELS].join(', ')}`);

  let adminToken = env.ADMIN_TOKEN ?? '';
  if (env.ADMIN_TOKEN !== undefined && adminToken.length < 32) {
    throw new ConfigError('ADMIN_TOKEN must be at least 32 characters');
  }
  if (!adminToken) {
    const generated = developmentSecret(dataDir, 'admin-token', () => randomBytes(32).toString('base64url'));
    adminToken = generated.value;
    warnings.push(
      generated.created
        ? `ADMIN_TOKEN is not set: generated one for development and saved it in ${path.join(dataDir, 'admin-token')}: ${adminToken}`
        : `ADMIN_TOKEN is not set: using the development token saved in ${path.join(dataDir, 'admin-token')}`,
    );
  }

  let keyEncryptionKey: Buffer;
  if (env.KEY_ENCRYPTION_KEY) {
    keyEncryptionKey = decodeKeyEncryptionKey(env.KEY_ENCRYPTION_KEY);
  } else if (databaseUrl) {
    throw new ConfigError('KEY_ENCRYPTION_KEY is required when DATABASE_URL is set');
  } else {
    const generated = developmentSecret(dataDir, 'key-encryption-key', () =>
      randomBytes(32).toString('base64url'),
    );
    keyEncryptionKey = decodeKeyEncryptionKey(generated.value);
    warnings.push(
      `KEY_ENCRYPTION_KEY is not set: using a development key stored beside the database in ${path.join(dataDir, 'key-encryption-key')}; set it in production`,
    );
  }

  const tokenRateLimit = integer(env, 'TOKEN_RATE_LIMIT', 600, 1, 10_000_000);
  const allowLoopbackHttpJwks = boolean(env, 'ALLOW_LOOPBACK_HTTP_JWKS');
  if (allowLoopbackHttpJwks)
    warnings.push(
      'ALLOW_LOOPBACK_HTTP_JWKS is on: JWKS may be fetched over plain http from loopback (development only)',
    );

  return Object.freeze({
    port,
    host,
    issuer,
    databaseUrl,
    dataDir,
    databasePoolSize: integer(env, 'DATABASE_POOL_SIZE', 10, 1, 1_000),
    registryCacheTtlMs: integer(env, 'REGISTRY_CACHE_TTL_MS', 1_000, 1, 3_600_000),
    keyRefreshIntervalMs: integer(env, 'KEY_REFRESH_INTERVAL_MS', 10_000, 100, 3_600_000),
    redisUrl,
    redisKeyPrefix: redisKeyPrefix(env.REDIS_KEY_PREFIX),
    adminToken,
    keyEncryptionKey,
    tokenRateLimit,
    tokenRateLimitPerAddress: integer(
      env,
      'TOKEN_RATE_LIMIT_PER_ADDRESS',
      tokenRateLimit * 10,
      1,
      100_000_000,
    ),
    adminRateLimit: integer(env, 'ADMIN_RATE_LIMIT', 600, 1, 10_000_000),
    logLevel,
    maxDelegationDepth: integer(env, 'MAX_DELEGATION_DEPTH', 8, 1, 32),
    clockToleranceSeconds: integer(env, 'CLOCK_TOLERANCE_SECONDS', 15, 0, 300),
    allowLoopbackHttpJwks,
    trustProxy: trustProxy(env.TRUST_PROXY),
    requestTimeoutMs: integer(env, 'REQUEST_TIMEOUT_MS', 10_000, 100, 300_000),
    keyRotationDelaySeconds: integer(env, 'KEY_ROTATION_DELAY_SECONDS', 300, 0, 7 * 24 * 3600),
    requireDpopNonce: dpopNonce(env.DPOP_NONCE),
    auditRetentionDays: integer(env, 'AUDIT_RETENTION_DAYS', 365, 1, 36_500),
    lineageRetentionGraceDays: integer(env, 'LINEAGE_RETENTION_GRACE_DAYS', 7, 0, 3650),
    setDelivery: Object.freeze({
      intervalMs: integer(env, 'SET_DELIVERY_INTERVAL_MS', 1_000, 50, 60_000),
      retryBaseMs: integer(env, 'SET_DELIVERY_RETRY_BASE_MS', 1_000, 10, 3_600_000),
      retryMaxMs: integer(env, 'SET_DELIVERY_RETRY_MAX_MS', 300_000, 10, 86_400_000),
      maxAttempts: integer(env, 'SET_DELIVERY_MAX_ATTEMPTS', 12, 1, 1_000),
    }),
    txnTokenTrustDomain: trustDomain(env.TXN_TOKEN_TRUST_DOMAIN, issuer),
    txnTokenLifetimeSeconds: integer(
      env,
      'TXN_TOKEN_LIFETIME_SECONDS',
      60,
      1,
      TXN_TOKEN_MAX_LIFETIME_SECONDS,
    ),
    warnings: Object.freeze(warnings),
  });
}
