/**
 * The RFC 7523 §3 checks on a `private_key_jwt` client assertion that go beyond its signature, as
 * one pure function: the token endpoint runs it through oidc-provider's
 * `assertJwtClientAuthClaimsAndHeader`, the introspection and revocation endpoints call it
 * directly (client-authentication.ts), so both accept exactly the same assertions (CA-08, CA-10,
 * RL-05).
 */

/** RFC 7523 §3 / SECURITY-CASES CA-08: a client assertion lives at most five minutes. */
export const MAX_ASSERTION_LIFETIME_SECONDS = 300;
/** `typ` values that mark another kind of JWT, never a client assertion (CA-10, RFC 8725 §3.11). */
const ACCEPTED_ASSERTION_TYPES = new Set([undefined, 'jwt', 'client-authentication+jwt']);

export interface AssertionCheckContext {
  /** The client the assertion must name as `iss` and `sub`. */
  readonly clientId: string;
  /** CONTRACT §3: the assertion's audience is the issuer. */
  readonly issuer: string;
  /** Seconds since the epoch. */
  readonly now: number;
  readonly clockToleranceSeconds: number;
}

/**
 * Null when the claims and header of a (signature-verified) assertion are acceptable, else the
 * public reason for refusing it.
 */
export function clientAssertionProblem(
  claims: Readonly<Record<string, unknown>>,
  header: Readonly<Record<string, unknown>>,
  context: AssertionCheckContext,
): string | null {
  const { now, clockToleranceSeconds: tolerance } = context;
  const typ =
    typeof header.typ === 'string' ? header.typ.toLowerCase().replace(/^application\//, '') : header.typ;
  if (!ACCEPTED_ASSERTION_TYPES.has(typ as string | undefined)) return 'client assertion typ is not accepted';
  // RFC 7523 §3: iss and sub both name the client; exp and a one-time jti are required.
  if (claims.iss !== context.clientId) return 'client assertion iss must be the client_id';
  if (claims.sub !== context.clientId) return 'client assertion sub must be the client_id';
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.includes(context.issuer)) return 'client assertion aud must be the issuer';
  if (typeof claims.exp !== 'number') return 'client assertion exp is required';
  if (typeof claims.jti !== 'string' || claims.jti === '') return 'client assertion jti is required';
  const issuedAt = typeof claims.iat === 'number' ? claims.iat : now;
  if (issuedAt > now + tolerance) return 'client assertion iat is in the future';
  if (typeof claims.nbf === 'number' && claims.nbf > now + tolerance) {
    return 'client assertion nbf is in the future';
  }
  // Bounds the replay store too: no assertion is remembered for longer than this (RL-05).
  if (claims.exp - Math.min(issuedAt, now) > MAX_ASSERTION_LIFETIME_SECONDS + tolerance) {
    return 'client assertion lifetime exceeds five minutes';
  }
  return null;
}
