/**
 * The OAuth engine: one factory that builds an oidc-provider instance from the current key set.
 * Keys are fixed when a Provider is constructed, so key rotation builds a new one and swaps it in
 * (DESIGN.md). oidc-provider authenticates clients (secrets, `private_key_jwt` with replay
 * detection), validates DPoP proofs and serves discovery and JWKS; both grants are our own handlers.
 */
import type { JWK } from 'jose';
import { Provider, errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { GRANT_CLIENT_CREDENTIALS, GRANT_JWT_BEARER, GRANT_TOKEN_EXCHANGE } from '../domain/types.js';
import { WORKLOAD_AUTH_METHODS } from '../domain/workload-identity.js';
import { clientSecretMatches } from '../infra/client-secrets.js';
import type { KeySet } from '../infra/signing-keys.js';
import { clientAssertionProblem } from './client-assertion-claims.js';
import {
  ACCEPTED_INPUT_TOKEN_TYPES,
  ISSUABLE_TOKEN_TYPES,
  TOKEN_TYPE_JWT,
  TXN_TOKEN_TYPES,
} from './constants.js';
import { JWT_BEARER_PARAMETERS } from './jwt-bearer-grant.js';
import {
  CLIENT_CREDENTIALS_PARAMETERS,
  REPEATABLE_PARAMETERS,
  TOKEN_EXCHANGE_PARAMETERS,
} from './exchange-request.js';
import type { createGrantHandlers } from './grants.js';
import { JWKS_MAX_BYTES, type JwksFetch } from './jwks-fetch.js';
import { epochSeconds } from './clock.js';
import { workloadCertificate, workloadSubjectMatches } from './workload-token-endpoint.js';

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
 * `response_modes_supported`, `scopes_supported`, `id_token_*`, `claims_*`, PKCE, request objects)
 * belong to flows it does not offer, and are dropped together with anything a later oidc-provider
 * adds (ADR 0014).
 */
const SERVED_PROVIDER_METADATA = [
  'issuer',
  'token_endpoint',
  'jwks_uri',
  'grant_types_supported',
  'token_endpoint_auth_methods_supported',
  'token_endpoint_auth_signing_alg_values_supported',
  'dpop_signing_alg_values_supported',
] as const;

/**
 * `token_endpoint_auth_methods_supported`: the registered methods, and the names under which
 * agents register workload credentials (ADR 0023). `tls_client_auth`, which the provider lists
 * for its carrier of those, is not served: no TLS client certificate is read.
 */
const SERVED_AUTH_METHODS = [...CLIENT_AUTH_METHODS, ...Object.values(WORKLOAD_AUTH_METHODS)];

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
      token_endpoint_auth_methods_supported: [...SERVED_AUTH_METHODS],
    };
  };
}

export interface ProviderOptions {
  readonly issuer: string;
  readonly keys: KeySet;
  readonly clockToleranceSeconds: number;
  readonly adapter: NonNullable<Configuration['adapter']>;
  readonly grants: ReturnType<typeof createGrantHandlers>;
  /** Agents' `jwks_uri` (private_key_jwt) is fetched through the guarded JWKS fetch (AD-06). */
  readonly jwksFetch: JwksFetch;
  /**
   * RFC 9449 §8: the secret of the server nonces every DPoP proof must then carry (ADR 0012); null
   * when nonces are off.
   */
  readonly dpopNonceSecret: Buffer | null;
  /** Extra discovery metadata (endpoints served outside the provider). */
  readonly extraMetadata: Readonly<Record<string, unknown>>;
  /** Koa middleware wrapped around every provider request (audit of early refusals, headers). */
  readonly middleware: readonly KoaMiddleware[];
}

/** RFC 7523 §3 checks oidc-provider leaves to configuration (CA-08, CA-10, RL-05). */
async function assertClientAssertion(
  ctx: KoaContextWithOIDC,
  claims: Record<string, unknown>,
  header: Record<string, unknown>,
  clockTolerance: number,
): Promise<void> {
  const problem = clientAssertionProblem(claims, header, {
    clientId: ctx.oidc.client?.clientId ?? '',
    issuer: ctx.oidc.issuer,
    now: epochSeconds(),
    clockToleranceSeconds: clockTolerance,
  });
  if (problem !== null) throw new errors.InvalidClientAuth(problem);
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
  const tolerance = options.clockToleranceSeconds;

  const configuration: Configuration = {
    adapter: options.adapter,
    clients: [],
    // tls_client_auth carries workload credentials verified before the provider (ADR 0023); no
    // TLS client certificate is ever read.
    clientAuthMethods: [...CLIENT_AUTH_METHODS, 'tls_client_auth'],
    clientDefaults: {
      grant_types: [GRANT_CLIENT_CREDENTIALS],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
    },
    clockTolerance: tolerance,
    // The guarded fetch checks every address it connects to, refuses redirects and caps the body;
    // it replaces the provider's own dispatcher, which also refuses the private ranges where
    // company IdPs live. The provider keeps its 2.5 s timeout.
    fetch: options.jwksFetch,
    fetchResponseBodyLimits: { jwks_uri: JWKS_MAX_BYTES },
    jwks: { keys: signingKeys as JWK[] } as Configuration['jwks'],
    enabledJWA: {
      clientAuthSigningAlgValues: CLIENT_ASSERTION_ALGS,
      dPoPSigningAlgValues: [...DPOP_PROOF_ALGS],
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
      mTLS: {
        enabled: true,
        tlsClientAuth: true,
        selfSignedTlsClientAuth: false,
        certificateBoundAccessTokens: false,
        getCertificate: workloadCertificate,
        certificateAuthorized: (ctx) => workloadCertificate(ctx) !== undefined,
        certificateSubjectMatches: workloadSubjectMatches,
      },
      // RFC 9449: proofs are checked by protocol/dpop-proof.ts with oidc-provider's validation.
      // Server nonces (§8), when on, are required of every proof; without a secret, none is used.
      dPoP: options.dpopNonceSecret
        ? { enabled: true, nonceSecret: options.dpopNonceSecret, requireNonce: () => true }
        : { enabled: true },
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
  // RFC 7523 §2.1: JWT authorization grants of peer domains (ADR 0025).
  provider.registerGrantType(
    GRANT_JWT_BEARER,
    options.grants.jwtBearer,
    [...JWT_BEARER_PARAMETERS],
    [...REPEATABLE_PARAMETERS],
  );
  provider.use(servedMetadataOnly(Object.keys(options.extraMetadata)) as never);
  for (const middleware of options.middleware) provider.use(middleware as never);
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
