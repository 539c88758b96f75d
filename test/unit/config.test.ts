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
      'a negative KEY_ROTATION_DELAY_SECONDS',
      { KEY_ROTATION_DELAY_SECONDS: '-1' },
      /KEY_ROTATION_DELAY_SECONDS must be a whole number/,
    ],
    [
      'a KEY_ROTATION_DELAY_SECONDS over a week',
      { KEY_ROTATION_DELAY_SECONDS: '604801' },
      /KEY_ROTATION_DELAY_SECONDS must be between/,
    ],
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
