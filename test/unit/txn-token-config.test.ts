import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const dataDir = mkdtempSync(path.join(tmpdir(), 'agent-sts-config-'));
const valid = { DATA_DIR: dataDir, ADMIN_TOKEN: 'x'.repeat(32), KEY_ENCRYPTION_KEY: 'ab'.repeat(32) };

afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('Txn-Token configuration (ADR 0024)', () => {
  it('is off by default, with a 60 s lifetime', () => {
    const config = loadConfig(valid);
    expect([config.txnTokenTrustDomain, config.txnTokenLifetimeSeconds]).toEqual([null, 60]);
  });

  it('reads the Trust Domain and the lifetime', () => {
    const config = loadConfig({
      ...valid,
      TXN_TOKEN_TRUST_DOMAIN: 'trust-domain.example',
      TXN_TOKEN_LIFETIME_SECONDS: '300',
    });
    expect([config.txnTokenTrustDomain, config.txnTokenLifetimeSeconds]).toEqual([
      'trust-domain.example',
      300,
    ]);
  });

  it.each([
    ['a Trust Domain with a space', { TXN_TOKEN_TRUST_DOMAIN: 'trust domain' }, /printable characters/],
    ['a Trust Domain of 256 characters', { TXN_TOKEN_TRUST_DOMAIN: 'x'.repeat(256) }, /printable characters/],
    [
      'the issuer as Trust Domain',
      { ISSUER: 'https://sts.example', TXN_TOKEN_TRUST_DOMAIN: 'https://sts.example/' },
      /must not be the ISSUER/,
    ],
    ['a lifetime of 0', { TXN_TOKEN_LIFETIME_SECONDS: '0' }, /between 1 and 300/],
    ['a lifetime over five minutes', { TXN_TOKEN_LIFETIME_SECONDS: '301' }, /between 1 and 300/],
  ])('refuses %s with a one-line reason', (_name, overrides, reason) => {
    const attempt = () => loadConfig({ ...valid, ...overrides });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(reason);
  });
});
