/**
 * Where DPoP proof `jti`s are spent (RFC 9449 §11.1). The default is a bounded in-memory store,
 * right for one instance; an API running several instances passes a shared store (Redis
 * `SET key 1 NX PXAT expiresAt` is one line) so that a proof replayed to another instance fails.
 */
import { ExpiringLru } from '../shared/expiring-lru.js';

export interface ReplayStore {
  /** Records `id` until `expiresAt`; resolves true the first time only. Must be atomic. */
  claim(id: string, expiresAt: Date): Promise<boolean>;
}

export interface MemoryReplayStoreOptions {
  /** Most entries held; the oldest are dropped first. Default 100 000. */
  readonly max?: number;
}

export function createMemoryReplayStore(options: MemoryReplayStoreOptions = {}): ReplayStore {
  const spent = new ExpiringLru<string, true>(options.max ?? 100_000);
  return {
    async claim(id, expiresAt) {
      if (spent.get(id)) return false;
      const ttl = Math.max(1, expiresAt.getTime() - Date.now());
      spent.set(id, true, ttl);
      return true;
    },
  };
}
