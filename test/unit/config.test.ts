import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const dataDir = mkdtempSync(path.join(tmpdir(), 'agent-sts-config-'));
const HEX_KEY = 'ab'.repeat(32);
const valid = { DATA_DIR: dataDir, ADMIN_TOKEN: 'x'.repeat(32), KEY_ENCRYPTION_KEY: HEX_KEY };

afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('loadConfig', () => {
  it('applies the defaults of CONTRACT §1', () => {
    const config = loadConfig(valid);
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      issuer: 'http://127.0.0.1:3000',
      databaseUrl: null,
      redisUrl: null,
      tokenRateLimit: 600,
      tokenRateLimitPerAddress: 6000,
      logLevel: 'info',
      clockToleranceSeconds: 15,
      allowLoopbackHttpJwks: false,
      keyRotationDelaySeconds: 300,
      requireDpopNonce: false,
    });
    expect(config.keyEncryptionKey).toHaveLength(32);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it.each([
    ['a non-numeric PORT', { PORT: 'eighty' }, /PORT must be a whole number/],
    ['a PORT out of range', { PORT: '70000' }, /PORT must be between/],
    ['an ISSUER that is not a URL', { ISSUER: 'not a url' }, /ISSUER must be a URL/],
    ['an ISSUER with a query', { ISSUER: 'https://sts.example.com/?a=b' }, /query or fragment/],
    ['an ISSUER with a path', { ISSUER: 'https://sts.example.com/tenant-a' }, /without a path/],
    ['a DATABASE_URL of another kind', { DATABASE_URL: 'mysql://db/x' }, /DATABASE_URL must use/],
    ['a short ADMIN_TOKEN', { ADMIN_TOKEN: 'short' }, /at least 32 characters/],
    ['a KEY_ENCRYPTION_KEY of the wrong size', { KEY_ENCRYPTION_KEY: 'abcd' }, /32 bytes/],
    [
      'DATABASE_URL without KEY_ENCRYPTION_KEY',
      { DATABASE_URL: 'postgres://db/x', KEY_ENCRYPTION_KEY: '' },
      /required/,
    ],
    ['a zero TOKEN_RATE_LIMIT', { TOKEN_RATE_LIMIT: '0' }, /TOKEN_RATE_LIMIT must be between/],
    ['an unknown LOG_LEVEL', { LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of/],
    ['a REDIS_URL of another scheme', { REDIS_URL: 'http://cache' }, /REDIS_URL must use/],
    ['a flag that is not a boolean', { ALLOW_LOOPBACK_HTTP_JWKS: 'yes' }, /true or false/],
    [
      'a zero SET_DELIVERY_MAX_ATTEMPTS',
      { SET_DELIVERY_MAX_ATTEMPTS: '0' },
      /SET_DELIVERY_MAX_ATTEMPTS must be between/,
    ],
    [
      'a SET_DELIVERY_INTERVAL_MS under 50',
      { SET_DELIVERY_INTERVAL_MS: '10' },
      /SET_DELIVERY_INTERVAL_MS must be between/,
    ],
    [
      'a negative KEY_ROTATION_DELAY_SECONDS',
      { KEY_ROTATION_DELAY_SECONDS: '-1' },
      /KEY_ROTATION_DELAY_SECONDS must be a whole number/,
    ],
    [
      'a KEY_ROTATION_DELAY_SECONDS over a week',
      { KEY_ROTATION_DELAY_SECONDS: '604801' },
      /KEY_ROTATION_DELAY_SECONDS must be between/,
    ],
    ['a DPOP_NONCE other than required', { DPOP_NONCE: 'true' }, /DPOP_NONCE must be "required" or unset/],
  ])('refuses %s with a one-line reason', (_name, overrides, reason) => {
    const attempt = () => loadConfig({ ...valid, ...overrides });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(reason);
    try {
      attempt();
    } catch (error) {
      expect((error as Error).message).not.toMatch(/\n/);
    }
  });

  it('requires DPoP server nonces with DPOP_NONCE=required', () => {
    expect(loadConfig({ ...valid, DPOP_NONCE: 'required' }).requireDpopNonce).toBe(true);
    expect(loadConfig({ ...valid, DPOP_NONCE: '' }).requireDpopNonce).toBe(false);
  });

  it('warns that the embedded database never fsyncs, and not on PostgreSQL', () => {
    expect(loadConfig(valid).warnings.join('\n')).toMatch(/DATABASE_URL is not set: .* never fsyncs/);
    const postgres = { ...valid, DATABASE_URL: 'postgresql://db/sts' };
    expect(loadConfig(postgres).warnings.join('\n')).not.toMatch(/DATABASE_URL is not set/);
  });

  it('accepts a KEY_ROTATION_DELAY_SECONDS of 0: a rotated key signs at once', () => {
    expect(loadConfig({ ...valid, KEY_ROTATION_DELAY_SECONDS: '0' }).keyRotationDelaySeconds).toBe(0);
  });

  it('accepts a base64 key-encryption key and derives the issuer from HOST and PORT', () => {
    const config = loadConfig({
      ...valid,
      KEY_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
      PORT: '8080',
    });
    expect(config.keyEncryptionKey.equals(Buffer.alloc(32, 7))).toBe(true);
    expect(config.issuer).toBe('http://127.0.0.1:8080');
  });

  it('generates development secrets once under DATA_DIR and warns about them', () => {
    const fresh = mkdtempSync(path.join(tmpdir(), 'agent-sts-config-dev-'));
    try {
      const first = loadConfig({ DATA_DIR: fresh });
      const second = loadConfig({ DATA_DIR: fresh });
      expect(first.adminToken.length).toBeGreaterThanOrEqual(32);
      expect(second.adminToken).toBe(first.adminToken);
      expect(second.keyEncryptionKey.equals(first.keyEncryptionKey)).toBe(true);
      expect(readFileSync(path.join(fresh, 'admin-token'), 'utf8').trim()).toBe(first.adminToken);
      expect(first.warnings.join('\n')).toMatch(/ADMIN_TOKEN is not set/);
      expect(first.warnings.join('\n')).toMatch(/KEY_ENCRYPTION_KEY is not set/);
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  });
});

describe('SET delivery', () => {
  it('defaults to a 1 s look-up, 1 s doubling to 5 min between pushes, 12 attempts', () => {
    expect(loadConfig(valid).setDelivery).toEqual({
      intervalMs: 1_000,
      retryBaseMs: 1_000,
      retryMaxMs: 300_000,
      maxAttempts: 12,
    });
  });

  it('reads each setting', () => {
    const config = loadConfig({
      ...valid,
      SET_DELIVERY_INTERVAL_MS: '200',
      SET_DELIVERY_RETRY_BASE_MS: '50',
      SET_DELIVERY_RETRY_MAX_MS: '2000',
      SET_DELIVERY_MAX_ATTEMPTS: '3',
    });
    expect(config.setDelivery).toEqual({
      intervalMs: 200,
      retryBaseMs: 50,
      retryMaxMs: 2000,
      maxAttempts: 3,
    });
  });
});

describe('TRUST_PROXY', () => {
  it.each([
    ['unset', undefined, { kind: 'none' }],
    ['false', 'false', { kind: 'none' }],
    ['0', '0', { kind: 'none' }],
    ['a hop count', '2', { kind: 'hops', hops: 2 }],
    ['one address', '127.0.0.1', { kind: 'addresses', addresses: ['127.0.0.1'] }],
    [
      'a list of addresses and CIDRs',
      '10.0.0.0/8, 192.168.1.7,fd00::/8,::1',
      { kind: 'addresses', addresses: ['10.0.0.0/8', '192.168.1.7', 'fd00::/8', '::1'] },
    ],
  ])('reads %s', (_name, raw, expected) => {
    const env = raw === undefined ? valid : { ...valid, TRUST_PROXY: raw };
    expect(loadConfig(env).trustProxy).toEqual(expected);
  });

  it.each([
    [
      'true, which believes the leftmost value the client writes',
      'true',
      /number of proxies .* or their addresses/,
    ],
    ['a hop count over 32', '33', /between 1 and 32/],
    ['a host name', 'proxy.internal', /IP addresses\/CIDRs, got "proxy.internal"/],
    ['a malformed address in a list', '10.0.0.1,10.0.0.300', /got "10.0.0.300"/],
    ['an IPv4 prefix over 32', '10.0.0.0/33', /got "10.0.0.0\/33"/],
    ['an IPv6 prefix over 128', 'fd00::/129', /got "fd00::\/129"/],
    ['a netmask instead of a prefix length', '10.0.0.0/255.0.0.0', /got "10.0.0.0\/255.0.0.0"/],
    ['an empty entry', '10.0.0.1,,10.0.0.2', /got ""/],
    ['a negative count', '-1', /got "-1"/],
  ])('refuses %s with a one-line reason', (_name, raw, reason) => {
    const attempt = () => loadConfig({ ...valid, TRUST_PROXY: raw });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(reason);
    expect(attempt).toThrow(/^[^\n]*$/);
  });
});

describe('REQUEST_TIMEOUT_MS', () => {
  it('defaults to 10 s and reads milliseconds', () => {
    expect(loadConfig(valid).requestTimeoutMs).toBe(10_000);
    expect(loadConfig({ ...valid, REQUEST_TIMEOUT_MS: '2500' }).requestTimeoutMs).toBe(2500);
  });

  it.each([
    ['below 100 ms', '99', /REQUEST_TIMEOUT_MS must be between 100 and 300000/],
    ['over 5 minutes', '300001', /REQUEST_TIMEOUT_MS must be between 100 and 300000/],
    ['a duration with a unit', '10s', /REQUEST_TIMEOUT_MS must be a whole number/],
  ])('refuses a value %s', (_name, raw, reason) => {
    expect(() => loadConfig({ ...valid, REQUEST_TIMEOUT_MS: raw })).toThrow(reason);
  });
});

describe('pool size and safety-net intervals (ADR 0017)', () => {
  it('default to a pool of 10, a 1 s registry cache and a 10 s key refresh', () => {
    const config = loadConfig(valid);
    expect({
      pool: config.databasePoolSize,
      ttl: config.registryCacheTtlMs,
      refresh: config.keyRefreshIntervalMs,
    }).toEqual({ pool: 10, ttl: 1_000, refresh: 10_000 });
  });

  it('reads each from the environment', () => {
    const config = loadConfig({
      ...valid,
      DATABASE_POOL_SIZE: '4',
      REGISTRY_CACHE_TTL_MS: '600000',
      KEY_REFRESH_INTERVAL_MS: '30000',
    });
    expect([config.databasePoolSize, config.registryCacheTtlMs, config.keyRefreshIntervalMs]).toEqual([
      4, 600_000, 30_000,
    ]);
  });

  it.each([
    ['DATABASE_POOL_SIZE', '0', /DATABASE_POOL_SIZE must be between 1 and 1000/],
    ['REGISTRY_CACHE_TTL_MS', '0', /REGISTRY_CACHE_TTL_MS must be between 1 and 3600000/],
    ['KEY_REFRESH_INTERVAL_MS', '99', /KEY_REFRESH_INTERVAL_MS must be between 100 and 3600000/],
    ['KEY_REFRESH_INTERVAL_MS', '10s', /KEY_REFRESH_INTERVAL_MS must be a whole number/],
  ])('refuses %s=%s', (name, raw, reason) => {
    expect(() => loadConfig({ ...valid, [name]: raw })).toThrow(reason);
  });
});
