import { describe, expect, it } from 'vitest';

import { MemoryRateCounter } from '../../src/infra/rate-counter.js';

const MINUTE = 60_000;

describe('MemoryRateCounter', () => {
  it('allows up to the limit within a window, then refuses', async () => {
    const counter = new MemoryRateCounter();
    const decisions = [];
    for (let n = 0; n < 4; n += 1) decisions.push((await counter.hit('client:a', 3, MINUTE)).allowed);
    expect(decisions).toEqual([true, true, true, false]);
  });

  it('keeps at most maxEntries windows, dropping the least recently counted', async () => {
    const counter = new MemoryRateCounter({ maxEntries: 2 });
    await counter.hit('client:a', 1, MINUTE);
    await counter.hit('client:b', 1, MINUTE);
    // a is limited now, and counted again: the most recent, so it stays.
    expect((await counter.hit('client:a', 1, MINUTE)).allowed).toBe(false);
    await counter.hit('client:c', 1, MINUTE);
    expect((await counter.hit('client:a', 1, MINUTE)).allowed, 'a keeps its window').toBe(false);
    // b was the least recently counted: its window is gone and it starts afresh.
    expect((await counter.hit('client:b', 1, MINUTE)).allowed).toBe(true);
  });

  it('stays bounded under a flood of distinct keys', async () => {
    const counter = new MemoryRateCounter({ maxEntries: 100 });
    await counter.hit('client:first', 1, MINUTE);
    for (let n = 0; n < 1_000; n += 1) await counter.hit(`client:${n}`, 1, MINUTE);
    expect((await counter.hit('client:first', 1, MINUTE)).allowed, 'evicted long ago').toBe(true);
  });
});
