/**
 * Fixed-window request counters for per-client limits on the token endpoint, which need the
 * authenticated client and so run inside the provider (DESIGN.md). Shared through Redis when
 * REDIS_URL is set, so every instance counts against one budget; in-process otherwise.
 */
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';

export interface RateDecision {
  readonly allowed: boolean;
  /** Seconds until the window resets. */
  readonly retryAfterSeconds: number;
}

export interface RateCounter {
  hit(key: string, limit: number, windowMs: number): Promise<RateDecision>;
}

/**
 * Most windows the in-process counter keeps. Keys are authenticated agents, so this is reached
 * only with that many agents active within one window; the least recently counted goes first,
 * never one that is being limited right now.
 */
export const MEMORY_RATE_COUNTER_MAX_ENTRIES = 20_000;

export class MemoryRateCounter implements RateCounter {
  readonly #windows: LRUCache<string, { count: number; resetAt: number }>;

  constructor(options: { maxEntries?: number } = {}) {
    this.#windows = new LRUCache({ max: options.maxEntries ?? MEMORY_RATE_COUNTER_MAX_ENTRIES });
  }

  async hit(key: string, limit: number, windowMs: number): Promise<RateDecision> {
    const now = Date.now();
    let window = this.#windows.get(key);
    if (!window || window.resetAt <= now) {
      window = { count: 0, resetAt: now + windowMs };
      this.#windows.set(key, window);
    }
    window.count += 1;
    return { allowed: window.count <= limit, retryAfterSeconds: Math.ceil((window.resetAt - now) / 1000) };
  }
}

export class RedisRateCounter implements RateCounter {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redis: Redis, keyPrefix: string) {
    this.#redis = redis;
    this.#prefix = keyPrefix;
  }

  async hit(key: string, limit: number, windowMs: number): Promise<RateDecision> {
    const redisKey = `${this.#prefix}rate:${key}`;
    const result = await this.#redis
      .multi()
      .incr(redisKey)
      .pexpire(redisKey, windowMs, 'NX')
      .pttl(redisKey)
      .exec();
    const count = Number(result?.[0]?.[1] ?? 0);
    const ttl = Number(result?.[2]?.[1] ?? windowMs);
    return { allowed: count <= limit, retryAfterSeconds: Math.max(1, Math.ceil(ttl / 1000)) };
  }
}
