/**
 * Issued tokens kept until shortly before they expire, keyed by everything that decides what the
 * server would issue (subject, target, scope, actor, token types). Keys are SHA-256 digests, so
 * the cache never holds a subject token. Identical requests in flight share one call.
 */
import { createHash } from 'node:crypto';
import { ExpiringLru } from '../shared/expiring-lru.js';
import type { TokenSet } from './token-request.js';

export interface TokenCacheOptions {
  /** Seconds before `expires_in` runs out that a cached token stops being used. Default 30. */
  readonly refreshBeforeExpiry?: number;
  /** Most tokens held. Default 1 000. */
  readonly maxEntries?: number;
}

export function cacheKey(parts: ReadonlyArray<string | undefined>): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url');
}

export function createTokenCache(options: TokenCacheOptions = {}) {
  const margin = (options.refreshBeforeExpiry ?? 30) * 1000;
  const tokens = new ExpiringLru<string, TokenSet>(options.maxEntries ?? 1_000);
  const pending = new Map<string, Promise<TokenSet>>();

  return async function cached(key: string, issue: () => Promise<TokenSet>): Promise<TokenSet> {
    const hit = tokens.get(key);
    if (hit) return hit;
    let call = pending.get(key);
    if (!call) {
      call = issue().finally(() => pending.delete(key));
      pending.set(key, call);
    }
    const issued = await call;
    const ttl = issued.expiresAt.getTime() - margin - Date.now();
    if (ttl > 0) tokens.set(key, issued, ttl);
    return issued;
  };
}
