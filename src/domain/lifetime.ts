import { accept, refuse } from './refusal.js';
import type { Result } from './types.js';

export interface LifetimeInput {
  /** Seconds since the epoch. */
  readonly now: number;
  /** The actor's `tokenTtlSeconds`. */
  readonly ttlSeconds: number;
  /** Expiry times (epoch seconds) of every input token: a hop never outlives its parent. */
  readonly notAfter: readonly number[];
}

export interface Lifetime {
  readonly iat: number;
  readonly exp: number;
}

/**
 * RFC 8693 §5, TO-05: exp = min(now + TTL, every input token's exp), in whole seconds. An input's
 * NumericDate may be fractional (RFC 7519 §2); rounding down keeps the hop within it and keeps
 * `expires_in` an integer (RFC 6749 §5.1).
 */
export function tokenLifetime(input: LifetimeInput): Result<Lifetime> {
  const { now, ttlSeconds, notAfter } = input;
  const exp = Math.floor(Math.min(now + ttlSeconds, ...notAfter));
  // An uncomputable lifetime (NaN, Infinity) refuses rather than issues.
  if (!Number.isFinite(exp) || exp <= now) {
    return refuse('subject_token_invalid', 'invalid_request', 'input token has expired');
  }
  return accept({ iat: now, exp });
}
