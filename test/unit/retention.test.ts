/**
 * ADR 0015: how long audit events and lineage stay, and when a whole day partition may go. Plus
 * the two settings that drive it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import {
  lineageKeepSeconds,
  partitionExpired,
  retentionCutoff,
  type RetainedTable,
} from '../../src/domain/retention.js';

const HOUR = 3600;
const DAY = 86_400;
const policy = {
  auditRetentionDays: 30,
  lineageKeepSeconds: lineageKeepSeconds({
    maxTokenTtlSeconds: HOUR,
    clockToleranceSeconds: 15,
    graceDays: 2,
  }),
};

describe('lineageKeepSeconds', () => {
  it('covers the longest token lifetime, the clock tolerance and the grace', () => {
    expect(policy.lineageKeepSeconds).toBe(HOUR + 15 + 2 * DAY);
    expect(lineageKeepSeconds({ maxTokenTtlSeconds: HOUR, clockToleranceSeconds: 0, graceDays: 0 })).toBe(
      HOUR,
    );
  });
});

describe('retentionCutoff', () => {
  const now = new Date('2026-11-29T12:00:00Z');
  it.each<[RetainedTable, string]>([
    ['audit_events', '2026-10-30T12:00:00.000Z'],
    ['issued_tokens', '2026-11-27T10:59:45.000Z'],
  ])('%s: rows before %s are past retention', (table, cutoff) => {
    expect(retentionCutoff(table, policy, now).toISOString()).toBe(cutoff);
  });
});

describe('partitionExpired', () => {
  it.each<[RetainedTable, string, string, boolean]>([
    // A day partition goes only once its whole day is past the cutoff.
    ['audit_events', '2026-10-29', '2026-11-29T00:00:00Z', true],
    ['audit_events', '2026-10-30', '2026-11-29T23:59:59Z', false],
    ['audit_events', '2026-10-30', '2026-11-30T00:00:00Z', true],
    // A chain started at 23:59 on the 26th may have a token live until 00:59 on the 27th: its
    // partition stays until that, the clock tolerance and the two days of grace have passed.
    ['issued_tokens', '2026-11-26', '2026-11-29T00:59:59Z', false],
    ['issued_tokens', '2026-11-26', '2026-11-29T01:00:14Z', false],
    ['issued_tokens', '2026-11-26', '2026-11-29T01:00:15Z', true],
    ['issued_tokens', '2026-11-29', '2026-11-29T12:00:00Z', false],
  ])('%s partition of %s at %s: %s', (table, day, now, expired) => {
    expect(partitionExpired(table, new Date(`${day}T00:00:00Z`), policy, new Date(now))).toBe(expired);
  });

  it('never drops a partition that still holds a token that could be presented', () => {
    // Latest possible expiry of any token in a chain started in the last millisecond of the day.
    const dayStart = new Date('2026-11-26T00:00:00Z');
    const lastPresentable = dayStart.getTime() + DAY * 1000 - 1 + HOUR * 1000 + 15 * 1000;
    expect(
      partitionExpired(
        'issued_tokens',
        dayStart,
        { ...policy, lineageKeepSeconds: HOUR + 15 },
        new Date(lastPresentable),
      ),
    ).toBe(false);
  });
});

describe('retention settings', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'agent-sts-retention-'));
  const valid = { DATA_DIR: dataDir, ADMIN_TOKEN: 'x'.repeat(32), KEY_ENCRYPTION_KEY: 'ab'.repeat(32) };
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('keeps audit events a year and lineage a week past its chain by default', () => {
    expect(loadConfig(valid)).toMatchObject({ auditRetentionDays: 365, lineageRetentionGraceDays: 7 });
  });

  it('reads both settings', () => {
    expect(
      loadConfig({ ...valid, AUDIT_RETENTION_DAYS: '3650', LINEAGE_RETENTION_GRACE_DAYS: '0' }),
    ).toMatchObject({ auditRetentionDays: 3650, lineageRetentionGraceDays: 0 });
  });

  it.each([
    [{ AUDIT_RETENTION_DAYS: '0' }, /AUDIT_RETENTION_DAYS must be between 1 and 36500/],
    [{ AUDIT_RETENTION_DAYS: 'forever' }, /AUDIT_RETENTION_DAYS must be a whole number/],
    [{ LINEAGE_RETENTION_GRACE_DAYS: '-1' }, /LINEAGE_RETENTION_GRACE_DAYS must be a whole number/],
    [{ LINEAGE_RETENTION_GRACE_DAYS: '3651' }, /LINEAGE_RETENTION_GRACE_DAYS must be between 0 and 3650/],
  ])('refuses %o with a one-line reason', (overrides, reason) => {
    const attempt = () => loadConfig({ ...valid, ...overrides });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(reason);
  });
});
