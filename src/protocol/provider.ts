/**
 * The OAuth engine: one factory that builds an oidc-provider instance from the current key set.
 * Keys are fixed when a Provider is constructed, so key rotation builds a new one and swaps it in
 * (DESIGN.md). oidc-provider serves discovery and the JWKS; the token endpoint is this service's
 * own fastify route (http/token-endpoint.ts, ADR 0027), which the discovery document describes from
 * the same constants the route uses.
 */
import type { JWK } from 'jose';
import { Provider, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { GRANT_CLIENT_CREDENTIALS, GRANT_JWT_BEARER, GRANT_TOKEN_EXCHANGE } from '../domain/types.js';
import { WORKLOAD_AUTH_METHODS } from '../domain/workload-identity.js';
import type { KeySet } from '../infra/signing-keys.js';
import {
  ACCEPTED_INPUT_TOKEN_TYPES,
  ISSUABLE_TOKEN_TYPES,
  TOKEN_TYPE_JWT,
  TXN_TOKEN_TYPES,
} from './constants.js';

export const TOKEN_PATH = '/token';
export const JWKS_PATH = '/jwks';
/** RFC 8414 §3 and OpenID Connect Discovery §4: the same metadata document at both. */
export const AUTHORIZATION_SERVER_METADATA_PATH = '/.well-known/oauth-authorization-server';
export const OPENID_CONFIGURATION_PATH = '/.well-known/openid-configuration';

export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'] as const;
export const CLIENT_ASSERTION_ALGS = ['ES256', 'ES384', 'PS256', 'PS384', 'RS256', 'EdDSA', 'Ed25519'];
/** RFC 9449 §5.1 `dpop_signing_alg_values_supported`: asymmetric only, never `none` or HMAC. */
export const DPOP_PROOF_ALGS = ['ES256', 'PS256', 'EdDSA', 'Ed25519'] as const;

/**
 * RFC 8414 §2: the metadata advertises exactly what is served. Of what oidc-provider emits, these
 * members describe this server; the rest (`authorization_endpoint`, `response_types_supported`,
 * `scopes_supported`, `id_token_*`, `claims_*`, PKCE, request objects) belong to flows it does not
 * offer, and are dropped together with anything a later oidc-provider adds (ADR 0014).
 */
const SERVED_PROVIDER_METADATA = ['issuer', 'token_endpoint', 'jwks_uri'] as const;

/** What the token endpoint serves (ADR 0027): its grants and its client authentication. */
const TOKEN_ENDPOINT_METADATA = {
  grant_types_supported: [GRANT_CLIENT_CREDENTIALS, GRANT_TOKEN_EXCHANGE, GRANT_JWT_BEARER],
  // The registered methods, and the names under which agents register workload credentials (ADR 0023).
  token_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS, ...Object.values(WORKLOAD_AUTH_METHODS)],
  token_endpoint_auth_signing_alg_values_supported: CLIENT_ASSERTION_ALGS,
  dpop_signing_alg_values_supported: DPOP_PROOF_ALGS,
} as const;

type KoaMiddleware = (ctx: KoaContextWithOIDC, next: () => Promise<void>) => Promise<void>;

/** Keeps only the served members (and the extra ones given) in the discovery document. */
function servedMetadataOnly(extraMembers: readonly string[]): KoaMiddleware {
  const served = new Set<string>([...SERVED_PROVIDER_METADATA, ...extraMembers]);
  return async (ctx, next) => {
    await next();
    if (ctx.oidc?.route !== 'discovery' || ctx.status !== 200) return;
    const metadata = ctx.body as Record<string, unknown>;
    ctx.body = {
      ...Object.fromEntries(Object.entries(metadata).filter(([member]) => served.has(member))),
      ...TOKEN_ENDPOINT_METADATA,
    };
  };
}

export interface ProviderOptions {
  readonly issuer: string;
  readonly keys: KeySet;
  /** Storage the provider asks for; discovery and the JWKS need none of it. */
  readonly adapter: NonNullable<Configuration['adapter']>;
  /** Extra discovery metadata (endpoints served outside the provider). */
  readonly extraMetadata: Readonly<Record<string, unknown>>;
}

export function createProvider(options: ProviderOptions): Provider {
  // Every published key (active, next, retiring) goes to the provider, which serves their public
  // halves at /jwks; the active key comes first. Tokens are signed by mint.ts, never by the provider.
  const { active } = options.keys;
  const published = new Set(options.keys.publicJwks.map((jwk) => jwk.kid));
  const signingKeys = [
    active,
    ...[...options.keys.verification.values()].filter((key) => key.kid !== active.kid),
  ]
    .filter((key) => published.has(key.kid))
    .map((key) => key.privateJwk);

  const configuration: Configuration = {
    adapter: options.adapter,
    clients: [],
    jwks: { keys: signingKeys as JWK[] } as Configuration['jwks'],
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
    renderError: async (ctx, out) => {
      ctx.type = 'json';
      ctx.body = out;
    },
    findAccount: async () => undefined,
  };

  const provider = new Provider(options.issuer, configuration);
  provider.proxy = true;
  provider.use(servedMetadataOnly(Object.keys(options.extraMetadata)) as never);
  return provider;
}

/**
 * Discovery metadata beyond what oidc-provider emits itself (CONTRACT §2). Txn-Tokens appear only
 * while a Trust Domain is configured (ADR 0024): as a requested type, and as a subject type (for a
 * replacement).
 */
export function tokenTypeMetadata(txnTokens: boolean): Record<string, unknown> {
  const txnTypes = txnTokens ? TXN_TOKEN_TYPES : [];
  return {
    token_exchange_subject_token_types_supported: [...ACCEPTED_INPUT_TOKEN_TYPES, ...txnTypes],
    token_exchange_actor_token_types_supported: [...ACCEPTED_INPUT_TOKEN_TYPES],
    token_exchange_requested_token_types_supported: [...ISSUABLE_TOKEN_TYPES, ...txnTypes],
    // draft-ietf-oauth-identity-chaining §3: what a token exchange for a peer's authorization
    // server may ask for: a JWT authorization grant.
    identity_chaining_requested_token_types_supported: [TOKEN_TYPE_JWT],
  };
}
