/**
 * The RFC 7523 §3 checks on a `private_key_jwt` client assertion that go beyond its signature, as
 * updated by RFC 10070, as one pure function that client authentication (client-authentication.ts)
 * and workload credentials run, so every endpoint accepts exactly the same assertions (CA-08,
 * CA-10, RL-05).
 */

/** RFC 7523 §3 / SECURITY-CASES CA-08: a client assertion lives at most five minutes. */
export const MAX_ASSERTION_LIFETIME_SECONDS = 300;
/** RFC 10070 §4: the explicit type of a client authentication JWT. */
export const CLIENT_ASSERTION_JWT_TYPE = 'client-authentication+jwt';
/**
 * `typ` values accepted on a client assertion, as media types without `application/`, lower case
 * (RFC 7515 §4.1.9): the explicit type, the generic `JWT`, or none, since RFC 10070 §4 advises
 * servers not to refuse untyped assertions. Any other value marks another kind of JWT (a DPoP
 * proof, an access token, a request object...), never a client assertion (CA-10, RFC 8725 §3.11).
 */
export const ACCEPTED_ASSERTION_TYPES: ReadonlySet<string | undefined> = new Set([
  undefined,
  'jwt',
  CLIENT_ASSERTION_JWT_TYPE,
]);

export interface AssertionCheckContext {
  /** The client the assertion must name as `iss` and `sub`. */
  readonly clientId: string;
  /** RFC 10070 §4: the assertion's sole audience is the issuer identifier. */
  readonly issuer: string;
  /** Seconds since the epoch. */
  readonly now: number;
  readonly clockToleranceSeconds: number;
}

/**
 * RFC 10070 §4: `aud` holds the issuer identifier as its sole value, by simple string comparison
 * (RFC 3986 §6.2.1): the string itself, or an array holding only it (RFC 7519 §4.1.3 allows
 * both). Anything else is refused, the token endpoint URL included, alone or beside the issuer:
 * an assertion addressed to an endpoint URL could have been obtained by another server that
 * published that URL in its metadata (audience injection).
 */
export function isAddressedToIssuer(aud: unknown, issuer: string): boolean {
  if (Array.isArray(aud)) return aud.length === 1 && aud[0] === issuer;
  return aud === issuer;
}

/** Whether the header's `typ`, as a media type without `application/` in lower case, is accepted. */
export function hasAcceptedType(
  header: Readonly<Record<string, unknown>>,
  accepted: ReadonlySet<string | undefined>,
): boolean {
  const typ =
    typeof header.typ === 'string' ? header.typ.toLowerCase().replace(/^application\//, '') : header.typ;
  return accepted.has(typ as string | undefined);
}

/** The longest lifetime an assertion may have, and how a refusal names it. */
export interface AssertionLifetime {
  readonly maxSeconds: number;
  readonly description: string;
}

const CLIENT_ASSERTION_LIFETIME: AssertionLifetime = {
  maxSeconds: MAX_ASSERTION_LIFETIME_SECONDS,
  description: 'five minutes',
};

/**
 * The RFC 7523 §3 rules, as updated by RFC 10070, that every client assertion shares whoever
 * signed it (a client's key, a SPIFFE trust domain, a Kubernetes cluster): `aud` is this issuer
 * alone, `exp` and a one-time `jti` are present, `iat` and `nbf` are not in the future, and the
 * lifetime is bounded, which bounds the replay store too (RL-05).
 */
export function sharedAssertionProblem(
  claims: Readonly<Record<string, unknown>>,
  context: Omit<AssertionCheckContext, 'clientId'>,
  lifetime: AssertionLifetime,
): string | null {
  const { now, clockToleranceSeconds: tolerance } = context;
  if (!isAddressedToIssuer(claims.aud, context.issuer)) {
    return 'client assertion aud must be the issuer identifier as its sole value';
  }
  if (typeof claims.exp !== 'number') return 'client assertion exp is required';
  if (typeof claims.jti !== 'string' || claims.jti === '') return 'client assertion jti is required';
  const issuedAt = typeof claims.iat === 'number' ? claims.iat : now;
  if (issuedAt > now + tolerance) return 'client assertion iat is in the future';
  if (typeof claims.nbf === 'number' && claims.nbf > now + tolerance) {
    return 'client assertion nbf is in the future';
  }
  if (claims.exp - Math.min(issuedAt, now) > lifetime.maxSeconds + tolerance) {
    return `client assertion lifetime exceeds ${lifetime.description}`;
  }
  return null;
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
  if (!hasAcceptedType(header, ACCEPTED_ASSERTION_TYPES)) return 'client assertion typ is not accepted';
  // RFC 7523 §3: iss and sub both name the client.
  if (claims.iss !== context.clientId) return 'client assertion iss must be the client_id';
  if (claims.sub !== context.clientId) return 'client assertion sub must be the client_id';
  return sharedAssertionProblem(claims, context, CLIENT_ASSERTION_LIFETIME);
}
