/**
 * Fixed-window request counters for per-client limits on the token endpoint, which need the
 * authenticated client and so run inside the provider (DESIGN.md). Shared through Redis when
 * REDIS_URL is set, so every instance counts against one budget; in-process otherwise.
 */
import type { Redis } from 'ioredis';

export interface RateDecision {
  readonly allowed: boolean;
  /** Seconds until the window resets. */
  readonly retryAfterSeconds: number;
}

export interface RateCounter {
  hit(key: string, limit: number, windowMs: number): Promise<RateDecision>;
}

export class MemoryRateCounter implements RateCounter {
  readonly #windows = new Map<string, { count: number; resetAt: number }>();

  async hit(key: string, limit: number, windowMs: number): Promise<RateDecision> {
    const now = Date.now();
    let window = this.#windows.get(key);
    if (!window || window.resetAt <= now) {
      if (this.#windows.size > 100_000) this.#sweep(now);
      window = { count: 0, resetAt: now + windowMs };
      this.#windows.set(key, window);
    }
    window.count += 1;
    return { allowed: window.count <= limit, retryAfterSeconds: Math.ceil((window.resetAt - now) / 1000) };
  }

  #sweep(now: number): void {
    for (const [key, window] of this.#windows) if (window.resetAt <= now) this.#windows.delete(key);
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
