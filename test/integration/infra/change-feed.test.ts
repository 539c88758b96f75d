/**
 * The change feed (ADR 0017) against the real database, PostgreSQL or the embedded PGlite: a
 * change is announced when its transaction commits and never when it rolls back, and a payload
 * the feed cannot read makes its listeners resync rather than miss something. Across instances:
 * multi-instance/change-propagation.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChangeFeed, parseChange, type ChangeEvent } from '../../../src/infra/change-feed.js';
import type { Database } from '../../../src/infra/database.js';
import { until } from '../../helpers/poll.js';
import { openMigratedDatabase } from '../../helpers/server.js';

/** Time for a committed notification to come back over the LISTEN connection. */
const DELIVERY_MS = 1_000;

const waitFor = (check: () => boolean) => until(check, DELIVERY_MS, 10);

describe('change feed', () => {
  let database: Database;
  let close: () => Promise<void>;
  /** The writer's feed, and another instance's: each hears what the other publishes. */
  let feed: ChangeFeed;
  let other: ChangeFeed;
  const heard: ChangeEvent[] = [];
  const heardByWriter: ChangeEvent[] = [];

  beforeAll(async () => {
    ({ database, close } = await openMigratedDatabase());
    feed = new ChangeFeed(database);
    other = new ChangeFeed(database);
    feed.onChange((event) => heardByWriter.push(event));
    other.onChange((event) => heard.push(event));
    await feed.start();
    await other.start();
  });

  afterAll(async () => {
    await other?.close();
    await feed?.close();
    await close();
  });

  it('announces a change, with its kind and the instance that made it, once its transaction commits', async () => {
    heard.length = 0;
    await database.prisma.$transaction(async (tx) => {
      await feed.publish(tx, 'registry');
      // Nothing is delivered before the commit (PostgreSQL NOTIFY semantics).
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(heard).toEqual([]);
    });
    expect(await waitFor(() => heard.length > 0)).toBe(true);
    expect(heard).toEqual([{ kind: 'registry', instance: feed.instance }]);
    // The writer has applied its change already: its own notice is not repeated to it.
    expect(heardByWriter).toEqual([]);
  });

  it('announces nothing for a transaction that rolls back', async () => {
    heard.length = 0;
    await expect(
      database.prisma.$transaction(async (tx) => {
        await feed.publish(tx, 'keys');
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    await database.prisma.$transaction((tx) => feed.publish(tx, 'registry'));
    expect(await waitFor(() => heard.length > 0)).toBe(true);
    expect(heard.map((event) => event.kind)).toEqual(['registry']);
  });

  it('takes a payload it cannot read as a resync', () => {
    expect(parseChange('{"kind":"keys","instance":"a"}')).toEqual({ kind: 'keys', instance: 'a' });
    for (const payload of ['', 'not json', '{"kind":"quotas","instance":"a"}', '{"kind":"keys"}', 'null']) {
      expect(parseChange(payload)).toEqual({ kind: 'resync' });
    }
  });
});
