/**
 * Key sets of trusted issuers: inline JWKS, or a JWKS URI fetched with jose's remote set, which
 * caches keys and bounds refetches (cooldown) so an attacker cannot make us hammer an IdP.
 * Entries are keyed by the issuer row's version, so an admin edit takes effect at once.
 */
import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import type { TrustedIssuerRecord } from '../infra/registry.js';
import { isAllowedJwksUri } from './jwks-uri.js';

export class TrustedIssuerKeys {
  readonly #sets = new Map<string, JWTVerifyGetKey>();
  readonly #allowLoopbackHttp: boolean;

  constructor(options: { allowLoopbackHttp: boolean }) {
    this.#allowLoopbackHttp = options.allowLoopbackHttp;
  }

  keysFor(issuer: TrustedIssuerRecord): JWTVerifyGetKey | null {
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
      });
    } else {
      return null;
    }
    // Drop entries of earlier versions of the same issuer.
    for (const key of this.#sets.keys()) if (key.startsWith(`${issuer.id}@`)) this.#sets.delete(key);
    this.#sets.set(issuer.version, set);
    return set;
  }
}
