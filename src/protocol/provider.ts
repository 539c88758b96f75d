/**
 * The OAuth engine: one factory that builds an oidc-provider instance from the current key set.
 * Keys are fixed when a Provider is constructed, so key rotation builds a new one and swaps it in
 * (DESIGN.md). oidc-provider authenticates clients (secrets, `private_key_jwt` with replay
 * detection) and serves discovery and JWKS; both grants are our own handlers.
 */
import type { JWK } from 'jose';
import { Provider, errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { GRANT_CLIENT_CREDENTIALS, GRANT_TOKEN_EXCHANGE } from '../domain/types.js';
import { clientSecretMatches } from '../infra/client-secrets.js';
import type { KeySet } from '../infra/signing-keys.js';
import { ACCEPTED_INPUT_TOKEN_TYPES, ISSUABLE_TOKEN_TYPES } from './constants.js';
import {
  CLIENT_CREDENTIALS_PARAMETERS,
  REPEATABLE_PARAMETERS,
  TOKEN_EXCHANGE_PARAMETERS,
} from './exchange-request.js';
import type { createGrantHandlers } from './grants.js';

export const TOKEN_PATH = '/token';
export const JWKS_PATH = '/jwks';

/** RFC 7523 §3 / SECURITY-CASES CA-08: a client assertion lives at most five minutes. */
const MAX_ASSERTION_LIFETIME_SECONDS = 300;
/** `typ` values that mark another kind of JWT, never a client assertion (CA-10, RFC 8725 §3.11). */
const ACCEPTED_ASSERTION_TYPES = new Set([undefined, 'jwt', 'client-authentication+jwt']);

export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'] as const;
export const CLIENT_ASSERTION_ALGS = ['ES256', 'ES384', 'PS256', 'PS384', 'RS256', 'EdDSA', 'Ed25519'];

export interface ProviderOptions {
  readonly issuer: string;
  readonly keys: KeySet;
  readonly clockToleranceSeconds: number;
  readonly adapter: NonNullable<Configuration['adapter']>;
  readonly grants: ReturnType<typeof createGrantHandlers>;
  /** Extra discovery metadata (endpoints served outside the provider). */
  readonly extraMetadata: Readonly<Record<string, unknown>>;
  /** Koa middleware wrapped around every provider request (audit of early refusals, headers). */
  readonly middleware: readonly ((ctx: KoaContextWithOIDC, next: () => Promise<void>) => Promise<void>)[];
}

/** RFC 7523 §3 checks oidc-provider leaves to configuration (CA-08, CA-10, RL-05). */
async function assertClientAssertion(
  ctx: KoaContextWithOIDC,
  claims: Record<string, unknown>,
  header: Record<string, unknown>,
  clockTolerance: number,
): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  const fail = (detail: string) => {
    throw new errors.InvalidClientAuth(detail);
  };
  const typ =
    typeof header.typ === 'string' ? header.typ.toLowerCase().replace(/^application\//, '') : header.typ;
  if (!ACCEPTED_ASSERTION_TYPES.has(typ as string | undefined)) fail('client assertion typ is not accepted');
  // CONTRACT §3: the assertion's audience is the issuer.
  const aud = claims.aud;
  const audiences = Array.isArray(aud) ? aud : [aud];
  if (!audiences.includes(ctx.oidc.issuer)) fail('client assertion aud must be the issuer');
  if (claims.sub !== ctx.oidc.client?.clientId) fail('client assertion sub must be the client_id');
  const exp = claims.exp as number;
  const issuedAt = typeof claims.iat === 'number' ? claims.iat : now;
  if (issuedAt > now + clockTolerance) fail('client assertion iat is in the future');
  if (typeof claims.nbf === 'number' && claims.nbf > now + clockTolerance)
    fail('client assertion nbf is in the future');
  // Bounds the replay store too: no assertion is remembered for longer than this (RL-05).
  if (exp - Math.min(issuedAt, now) > MAX_ASSERTION_LIFETIME_SECONDS + clockTolerance) {
    fail('client assertion lifetime exceeds five minutes');
  }
}

export function createProvider(options: ProviderOptions): Provider {
  const signingKeys = [...options.keys.verification.values()]
    .filter((key) => key.state !== 'retired' || key.kid === options.keys.active.kid)
    .map((key) => key.privateJwk);
  const published = new Set(options.keys.publicJwks.map((jwk) => jwk.kid));
  const tolerance = options.clockToleranceSeconds;

  const configuration: Configuration = {
    adapter: options.adapter,
    clients: [],
    clientAuthMethods: [...CLIENT_AUTH_METHODS],
    clientDefaults: {
      grant_types: [GRANT_CLIENT_CREDENTIALS],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
    },
    clockTolerance: tolerance,
    // Only keys still published in our JWKS (active, next, retiring) go to the provider, which
    // serves their public halves at /jwks.
    jwks: { keys: signingKeys.filter((jwk) => published.has(jwk.kid)) as JWK[] } as Configuration['jwks'],
    enabledJWA: {
      clientAuthSigningAlgValues: CLIENT_ASSERTION_ALGS,
    } as Configuration['enabledJWA'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: false },
      introspection: { enabled: false },
      revocation: { enabled: false },
      userinfo: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      registration: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
    },
    responseTypes: ['none'],
    scopes: [],
    claims: {},
    routes: { token: TOKEN_PATH, jwks: JWKS_PATH },
    discovery: { ...options.extraMetadata } as Configuration['discovery'],
    assertJwtClientAuthClaimsAndHeader: (ctx, claims, header) =>
      assertClientAssertion(
        ctx,
        claims as Record<string, unknown>,
        header as Record<string, unknown>,
        tolerance,
      ),
    // The token endpoint answers JSON, whatever the Accept header says.
    renderError: async (ctx, out) => {
      ctx.type = 'json';
      ctx.body = out;
    },
    findAccount: async () => undefined,
  };

  const provider = new Provider(options.issuer, configuration);
  provider.proxy = true;
  // Secrets are stored as digests (ADR 0002): hash the presented secret, compare in constant time.
  provider.Client.prototype.compareClientSecret = function compareClientSecret(
    this: { clientSecret?: string },
    actual: string,
  ) {
    return Promise.resolve(this.clientSecret ? clientSecretMatches(actual, this.clientSecret) : false);
  } as never;

  provider.registerGrantType(
    GRANT_CLIENT_CREDENTIALS,
    options.grants.clientCredentials,
    [...CLIENT_CREDENTIALS_PARAMETERS],
    [...REPEATABLE_PARAMETERS],
  );
  provider.registerGrantType(
    GRANT_TOKEN_EXCHANGE,
    options.grants.tokenExchange,
    [...TOKEN_EXCHANGE_PARAMETERS],
    [...REPEATABLE_PARAMETERS],
  );
  for (const middleware of options.middleware) provider.use(middleware as never);
  return provider;
}

/** Discovery metadata beyond what oidc-provider emits itself (CONTRACT §2). */
export function tokenTypeMetadata(): Record<string, unknown> {
  return {
    token_exchange_subject_token_types_supported: [...ACCEPTED_INPUT_TOKEN_TYPES],
    token_exchange_actor_token_types_supported: [...ACCEPTED_INPUT_TOKEN_TYPES],
    token_exchange_requested_token_types_supported: [...ISSUABLE_TOKEN_TYPES],
  };
}
