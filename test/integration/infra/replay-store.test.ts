/**
 * The replay store against the real database: a claim is atomic (one winner among concurrent
 * claimers, CA-09), an expired record can be claimed again, and the purge removes only what
 * has expired.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../src/infra/database.js';
import { claimReplaySlot, purgeExpiredRecords } from '../../../src/infra/replay-store.js';
import { openMigratedDatabase } from '../../helpers/server.js';

describe('replay store', () => {
  let database: Database;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ database, close } = await openMigratedDatabase());
  });

  afterAll(async () => {
    await close();
  });

  const inMinutes = (minutes: number) => new Date(Date.now() + minutes * 60_000);

  it('lets exactly one of many concurrent claims of one id win', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, () => claimReplaySlot(database.prisma, 'race', inMinutes(5))),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('refuses a live id and takes over an expired one', async () => {
    expect(await claimReplaySlot(database.prisma, 'live', inMinutes(5))).toBe(true);
    expect(await claimReplaySlot(database.prisma, 'live', inMinutes(5))).toBe(false);
    expect(await claimReplaySlot(database.prisma, 'lapsed', inMinutes(-1))).toBe(true);
    expect(await claimReplaySlot(database.prisma, 'lapsed', inMinutes(5))).toBe(true);
  });

  it('purges expired records only', async () => {
    await claimReplaySlot(database.prisma, 'old-1', inMinutes(-10));
    await claimReplaySlot(database.prisma, 'old-2', inMinutes(-10));
    await claimReplaySlot(database.prisma, 'fresh', inMinutes(10));
    expect(await purgeExpiredRecords(database.prisma)).toBe(2);
    const left = await database.query<{ id: string }>('SELECT id FROM provider_records ORDER BY id');
    expect(left.map((row) => row.id)).toEqual(expect.arrayContaining(['fresh', 'live', 'race', 'lapsed']));
    expect(left.map((row) => row.id)).not.toContain('old-1');
    expect(await purgeExpiredRecords(database.prisma)).toBe(0);
  });
});
