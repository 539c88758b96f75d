/**
 * The rules of admin input that a JSON schema cannot express. Each check either returns or throws a
 * 400 ProblemError with a stable `code` and the JSON pointer of the offending field. Pure: no
 * database, no network (a JWKS URI is judged by its text, never fetched: SECURITY-CASES AD-06).
 */
import { importJWK, type JWK } from 'jose';
import { ACCEPTED_INPUT_ALGS } from '../../protocol/constants.js';
import { classifyAddress, isFetchableClass } from '../../protocol/address-class.js';
import { isAllowedJwksUri } from '../../protocol/jwks-uri.js';
import { ProblemError } from '../problem.js';
import { SECRET_AUTH_METHODS, type AuthMethod, type JwkSet } from './schemas.js';

/** What the checks need to know of the running service. */
export interface ValidationContext {
  readonly issuer: string;
  readonly maxDelegationDepth: number;
  readonly allowLoopbackHttpJwks: boolean;
}

export type ValidationCode =
  | 'reserved_identifier'
  | 'wildcard_not_allowed'
  | 'invalid_jwks'
  | 'invalid_url'
  | 'invalid_key_source'
  | 'invalid_value';

function invalid(code: ValidationCode, path: string, detail: string): ProblemError {
  return new ProblemError(400, code, detail, [{ path, message: detail }]);
}

// ---- identifiers -----------------------------------------------------------------------------

function sameUrl(a: string, b: string): boolean {
  try {
    return new URL(a).href.replace(/\/$/, '') === new URL(b).href.replace(/\/$/, '');
  } catch {
    return false;
  }
}

/**
 * AD-04: the issuer URL is the audience of admin tokens (CONTRACT §4) and `sts:` names this
 * service's own scopes and audiences, so neither may become an agent or a resource.
 */
export function checkNotReserved(id: string, context: ValidationContext, path = '/id'): void {
  if (id === context.issuer || sameUrl(id, context.issuer) || id.toLowerCase().startsWith('sts:')) {
    throw invalid('reserved_identifier', path, `"${id}" is reserved by this service`);
  }
}

/** AD-05: scopes and audiences match exactly; a `*` would read as a wildcard that is never honoured. */
export function checkNoWildcards(values: readonly string[], path: string): void {
  const index = values.findIndex((value) => value.includes('*'));
  if (index >= 0) {
    throw invalid(
      'wildcard_not_allowed',
      `${path}/${index}`,
      'wildcards are not supported: list exact values',
    );
  }
}

export function checkDelegationDepth(depth: number | null, context: ValidationContext, path: string): void {
  if (depth !== null && depth > context.maxDelegationDepth) {
    throw invalid(
      'invalid_value',
      path,
      `maxDelegationDepth must be at most the service limit of ${context.maxDelegationDepth}`,
    );
  }
}

// ---- URLs ------------------------------------------------------------------------------------

/** Names of cloud metadata services; their addresses are refused by address-class.ts. */
const METADATA_HOSTS = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.azure.internal',
  'instance-data',
]);

/**
 * Whether a URL host names a loopback, link-local, unspecified, multicast or metadata address
 * (AD-06), by its text: an IP literal in any form WHATWG URL keeps (`[::ffff:7f00:1]` reaches
 * 127.0.0.1 as surely as `127.0.0.1` does), `localhost` and its subdomains, or a metadata name.
 * A name is resolved, and its addresses checked the same way, only when it is fetched.
 */
function isRefusedHost(hostname: string, allowLoopback: boolean): boolean {
  if (METADATA_HOSTS.has(hostname)) return true;
  if (hostname === 'localhost' || hostname.endsWith('.localhost')) return !allowLoopback;
  const addressClass = classifyAddress(hostname);
  return addressClass !== null && !isFetchableClass(addressClass, allowLoopback);
}

/**
 * A URL this service may fetch keys from, or that names an issuer whose keys it fetches: `https`
 * (plain `http` only on loopback in development), no credentials or fragment, and never a
 * link-local, unspecified, multicast, metadata or (outside development) loopback host. AD-06,
 * RFC 8414 §2 (issuer).
 */
export function checkFetchableUrl(raw: string, context: ValidationContext, path: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid('invalid_url', path, 'must be an absolute URL');
  }
  if (!isAllowedJwksUri(raw, context.allowLoopbackHttpJwks)) {
    throw invalid(
      'invalid_url',
      path,
      context.allowLoopbackHttpJwks
        ? 'must be an https URL (or http on loopback), without credentials or fragment'
        : 'must be an https URL without credentials or fragment',
    );
  }
  const hostname = url.hostname.toLowerCase().replace(/\.$/, '');
  if (isRefusedHost(hostname, context.allowLoopbackHttpJwks)) {
    throw invalid(
      'invalid_url',
      path,
      'must not point at a loopback, link-local, unspecified, multicast or metadata address',
    );
  }
  return url;
}

/** RFC 8414 §2: an issuer identifier has no query or fragment; it can never be this service. */
export function checkIssuerUrl(raw: string, context: ValidationContext, path = '/issuer'): void {
  const url = checkFetchableUrl(raw, context, path);
  if (url.search) throw invalid('invalid_url', path, 'an issuer identifier has no query');
  if (raw === context.issuer || sameUrl(raw, context.issuer)) {
    throw invalid('reserved_identifier', path, 'this service cannot trust itself as an external issuer');
  }
}

// ---- keys ------------------------------------------------------------------------------------

/** RFC 7518 §6.2.2, §6.3.2, §6.4.1 and RFC 8037 §2: members that only a private or secret key has. */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;
const MIN_RSA_MODULUS_BYTES = 256; // 2048 bits, RFC 7518 §3.3

/** The algorithm a key without `alg` is imported as, so that importing proves it is well formed. */
function defaultAlg(jwk: JWK): string | undefined {
  if (jwk.kty === 'RSA') return 'RS256';
  if (jwk.kty === 'OKP') return jwk.crv === 'Ed25519' ? 'Ed25519' : undefined;
  if (jwk.kty === 'EC') return { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' }[jwk.crv ?? ''];
  return undefined;
}

/**
 * A JWK Set of public signature keys (RFC 7517 §5; RFC 8725 §3.1): no private or symmetric keys,
 * `use` is `sig` when present, `alg` is one this service verifies and fits the key, `kid`s are
 * unique, RSA moduli are at least 2048 bits, and every key imports.
 */
export async function checkJwks(jwks: JwkSet, path: string): Promise<void> {
  const kids = new Set<string>();
  for (const [index, key] of jwks.keys.entries()) {
    const at = `${path}/keys/${index}`;
    const jwk = key as JWK;
    const privateMember = PRIVATE_JWK_MEMBERS.find((member) => Object.hasOwn(jwk, member));
    if (privateMember) throw invalid('invalid_jwks', at, `"${privateMember}" is private key material`);
    if (jwk.kty === 'oct') throw invalid('invalid_jwks', at, 'symmetric keys are not accepted');
    if (jwk.use !== undefined && jwk.use !== 'sig') throw invalid('invalid_jwks', at, 'use must be "sig"');
    if (jwk.alg !== undefined && !(ACCEPTED_INPUT_ALGS as readonly string[]).includes(jwk.alg)) {
      throw invalid('invalid_jwks', at, `alg "${jwk.alg}" is not accepted`);
    }
    if (jwk.kid !== undefined) {
      if (kids.has(jwk.kid)) throw invalid('invalid_jwks', at, `kid "${jwk.kid}" appears twice`);
      kids.add(jwk.kid);
    }
    if (jwk.kty === 'RSA' && Buffer.from(String(jwk.n ?? ''), 'base64url').length < MIN_RSA_MODULUS_BYTES) {
      throw invalid('invalid_jwks', at, 'RSA keys must be at least 2048 bits');
    }
    const alg = jwk.alg ?? defaultAlg(jwk);
    if (!alg) throw invalid('invalid_jwks', at, 'unsupported key type or curve');
    try {
      await importJWK(jwk, alg);
    } catch {
      throw invalid('invalid_jwks', at, `not a valid public key for ${alg}`);
    }
  }
}

/**
 * Where a client's or issuer's verification keys come from: exactly one of `jwks` and `jwksUri`
 * when keys are needed; none for secret-authenticated agents (RFC 7591 §2: jwks and jwks_uri are
 * mutually exclusive).
 */
export async function checkKeySource(
  source: { jwks: JwkSet | null; jwksUri: string | null },
  keysRequired: boolean,
  context: ValidationContext,
): Promise<void> {
  if (source.jwks !== null && source.jwksUri !== null) {
    throw invalid('invalid_key_source', '/jwks', 'give jwks or jwksUri, not both');
  }
  if (!keysRequired) {
    if (source.jwks !== null || source.jwksUri !== null) {
      throw invalid(
        'invalid_key_source',
        source.jwks !== null ? '/jwks' : '/jwksUri',
        'keys are only registered for private_key_jwt',
      );
    }
    return;
  }
  if (source.jwks === null && source.jwksUri === null) {
    throw invalid('invalid_key_source', '/jwks', 'jwks or jwksUri is required');
  }
  if (source.jwks !== null) await checkJwks(source.jwks, '/jwks');
  if (source.jwksUri !== null) checkFetchableUrl(source.jwksUri, context, '/jwksUri');
}

export function usesSecret(method: AuthMethod): boolean {
  return SECRET_AUTH_METHODS.includes(method);
}

// ---- whole objects (create, and PATCH after merging: AD-08) ----------------------------------

export interface AgentSettings {
  readonly tokenEndpointAuthMethod: AuthMethod;
  readonly jwks: JwkSet | null;
  readonly jwksUri: string | null;
  readonly allowedScopes: readonly string[];
  readonly allowedAudiences: readonly string[];
  readonly maxDelegationDepth: number;
}

export async function checkAgent(agent: AgentSettings, context: ValidationContext): Promise<void> {
  checkNoWildcards(agent.allowedScopes, '/allowedScopes');
  checkNoWildcards(agent.allowedAudiences, '/allowedAudiences');
  checkDelegationDepth(agent.maxDelegationDepth, context, '/maxDelegationDepth');
  // Only private_key_jwt agents register keys; a workload agent's keys are its trust domain's or
  // cluster's (ADR 0023), a secret agent has none.
  await checkKeySource(agent, agent.tokenEndpointAuthMethod === 'private_key_jwt', context);
}

export function checkResource(resource: { readonly scopes: readonly string[] }): void {
  checkNoWildcards(resource.scopes, '/scopes');
}

export interface TrustedIssuerSettings {
  readonly issuer: string;
  readonly jwks: JwkSet | null;
  readonly jwksUri: string | null;
  readonly audiences: readonly string[];
  readonly maxDelegationDepth: number | null;
}

export async function checkTrustedIssuer(
  issuer: TrustedIssuerSettings,
  context: ValidationContext,
): Promise<void> {
  checkIssuerUrl(issuer.issuer, context);
  checkNoWildcards(issuer.audiences, '/audiences');
  checkDelegationDepth(issuer.maxDelegationDepth, context, '/maxDelegationDepth');
  await checkKeySource(issuer, true, context);
}
