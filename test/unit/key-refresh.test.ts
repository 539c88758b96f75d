import { describe, expect, it } from 'vitest';

import { OnDemandKeyRefresh } from '../../src/protocol/key-refresh.js';

/** A refresh the test finishes by hand, on a clock the test steps. */
function harness(outcome: 'resolve' | 'reject' = 'resolve') {
  let now = 1_000_000;
  const pending: (() => void)[] = [];
  let calls = 0;
  const refresher = new OnDemandKeyRefresh({
    refresh: () => {
      calls += 1;
      return new Promise<void>((resolve, reject) =>
        pending.push(() => (outcome === 'resolve' ? resolve() : reject(new Error('database down')))),
      );
    },
    minIntervalMs: 5_000,
    clock: () => now,
  });
  return {
    refresher,
    calls: () => calls,
    finish: () => pending.splice(0).forEach((settle) => settle()),
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('OnDemandKeyRefresh', () => {
  it('runs a refresh on the first unknown kid and resolves when it is done', async () => {
    const { refresher, calls, finish } = harness();
    let done = false;
    const run = refresher.run().then(() => (done = true));
    expect(calls()).toBe(1);
    await Promise.resolve();
    expect(done).toBe(false);
    finish();
    await run;
    expect(done).toBe(true);
  });

  it('lets callers that arrive while a refresh runs wait for that one instead of starting another', async () => {
    const { refresher, calls, finish } = harness();
    const runs = [refresher.run(), refresher.run(), refresher.run()];
    expect(calls()).toBe(1);
    finish();
    await Promise.all(runs);
    expect(calls()).toBe(1);
  });

  it('starts no second refresh within the interval, and one once it has passed', async () => {
    const { refresher, calls, finish, advance } = harness();
    const first = refresher.run();
    finish();
    await first;
    advance(4_999);
    await refresher.run();
    expect(calls()).toBe(1);
    advance(1);
    const second = refresher.run();
    expect(calls()).toBe(2);
    finish();
    await second;
  });

  it('never rejects when the refresh fails, and still counts it against the interval', async () => {
    const { refresher, calls, finish, advance } = harness('reject');
    const run = refresher.run();
    finish();
    await expect(run).resolves.toBeUndefined();
    advance(1_000);
    await refresher.run();
    expect(calls()).toBe(1);
  });
});
