import { afterEach, describe, expect, it, vi } from 'vitest';
import { ExpiringLru } from '../../../src/sdk/shared/expiring-lru.js';

describe('ExpiringLru', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('drops the least recently used entry when full, a read counting as use', () => {
    const cache = new ExpiringLru<string, number>(2);
    cache.set('a', 1, 60_000);
    cache.set('b', 2, 60_000);
    expect(cache.get('a')).toBe(1);
    cache.set('c', 3, 60_000);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe(1);
    expect(cache.get('c')).toBe(3);
  });

  it('answers nothing for an entry past its time to live', () => {
    vi.useFakeTimers();
    const cache = new ExpiringLru<string, number>(10);
    cache.set('a', 1, 1_000);
    vi.advanceTimersByTime(999);
    expect(cache.get('a')).toBe(1);
    vi.advanceTimersByTime(1);
    expect(cache.get('a')).toBeUndefined();
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses max %s', (max) => {
    expect(() => new ExpiringLru(max)).toThrow(RangeError);
  });
});
