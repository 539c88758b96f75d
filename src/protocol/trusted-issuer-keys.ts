/**
 * Key sets of trusted issuers: inline JWKS, or a JWKS URI fetched with jose's remote set, which
 * caches keys and bounds refetches (cooldown) so an attacker cannot make us hammer an IdP.
 * Entries are keyed by the issuer row's version, so an admin edit takes effect at once. Every fetch
 * goes through the guarded JWKS fetch (jwks-fetch.ts). At most KEY_SET_CACHE_MAX_ENTRIES sets
 * are kept, least recently used out first: only registered issuers get one, and an evicted set is
 * rebuilt on its next use.
 */
import { LRUCache } from 'lru-cache';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from 'jose';
import type { TrustedIssuerRecord } from '../infra/registry.js';
import type { JwksFetch } from './jwks-fetch.js';
import { KEY_SET_CACHE_MAX_ENTRIES } from './constants.js';
import { isAllowedJwksUri } from './jwks-uri.js';

export class TrustedIssuerKeys {
  readonly #sets = new LRUCache<string, JWTVerifyGetKey>({ max: KEY_SET_CACHE_MAX_ENTRIES });
  readonly #allowLoopbackHttp: boolean;
  readonly #fetch: JwksFetch;

  constructor(options: { allowLoopbackHttp: boolean; fetch: JwksFetch }) {
    this.#allowLoopbackHttp = options.allowLoopbackHttp;
    this.#fetch = options.fetch;
  }

  /** Also serves peer domains' keys (ADR 0025), from an instance of their own. */
  keysFor(issuer: Pick<TrustedIssuerRecord, 'id' | 'jwks' | 'jwksUri' | 'version'>): JWTVerifyGetKey | null {
    const cached = this.#sets.get(issuer.version);
    if (cached) return cached;
    let set: JWTVerifyGetKey;
    if (issuer.jwks) {
      set = createLocalJWKSet(issuer.jwks as JSONWebKeySet);
    } else if (issuer.jwksUri && isAllowedJwksUri(issuer.jwksUri, this.#allowLoopbackHttp)) {
      set = createRemoteJWKSet(new URL(issuer.jwksUri), {
        timeoutDuration: 3_000,
        cooldownDuration: 30_000,
        cacheMaxAge: 10 * 60_000,
        [customFetch]: this.#fetch,
      });
    } else {
      return null;
    }
    // Drop entries of earlier versions of the same issuer.
    for (const key of [...this.#sets.keys()]) if (key.startsWith(`${issuer.id}@`)) this.#sets.delete(key);
    this.#sets.set(issuer.version, set);
    return set;
  }
}
