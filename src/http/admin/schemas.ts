/**
 * TypeBox schemas of the admin API (CONTRACT §4): each validates a request part and gives its
 * static type through `Static<>`. Every object is closed (`additionalProperties: false`) and the
 * admin validator rejects rather than strips, so mass assignment (`is_admin`, `secretHash`) is a
 * 400 (SECURITY-CASES AD-03). Rules a schema cannot express (reserved ids, JWKS contents, URL
 * hosts, wildcards) live in validation.ts.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { AGENT_ID_PATTERN, MAX_URL_LENGTH, RESOURCE_ID_PATTERN } from '../../domain/identifiers.js';
import { GRANT_CLIENT_CREDENTIALS, GRANT_JWT_BEARER, GRANT_TOKEN_EXCHANGE } from '../../domain/types.js';
import { ADMIN_ACTIONS, ADMIN_ACTOR_KINDS, ADMIN_TARGET_TYPES } from '../../infra/admin-events.js';

/** CONTRACT §4: a caller-chosen client_id, and a resource id (the `aud` value, usually a URI). */
export { AGENT_ID_PATTERN, RESOURCE_ID_PATTERN };
/** RFC 6749 §3.3 scope-token; wildcards are refused separately with their own code (AD-05). */
const SCOPE_TOKEN_PATTERN = '^[\\x21\\x23-\\x5B\\x5D-\\x7E]+$';
/** An audience value (RFC 7519 §4.1.3 StringOrURI): printable ASCII without spaces. */
const AUDIENCE_PATTERN = '^[\\x21-\\x7E]+$';

/** Bounds that keep one registry row, and every token decision that reads it, small. */
export const MAX_LIST_ITEMS = 100;
export const MAX_JWKS_KEYS = 20;
export const MAX_TOKEN_TTL_SECONDS = 3600;
export const MAX_PAGE_SIZE = 200;
export const DEFAULT_PAGE_SIZE = 50;

export const AUTH_METHODS = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
  // ADR 0023: a workload credential (a SPIFFE JWT-SVID, a Kubernetes service-account token).
  'jwt_spiffe',
  'kubernetes_service_account',
] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];
export const SECRET_AUTH_METHODS: readonly AuthMethod[] = ['client_secret_basic', 'client_secret_post'];
/** The grants an agent gets by default (CONTRACT §4: both). */
export const GRANT_TYPES = [GRANT_CLIENT_CREDENTIALS, GRANT_TOKEN_EXCHANGE] as const;
/** Every grant an agent may be allowed; the JWT bearer grant of peer domains only on request (ADR 0025). */
export const ALLOWED_GRANT_TYPES = [...GRANT_TYPES, GRANT_JWT_BEARER] as const;

/** Defaults of CONTRACT §4, applied in code so that PATCH (all optional) never inherits them. */
export const AGENT_DEFAULTS = {
  description: '',
  owner: '',
  tokenEndpointAuthMethod: 'client_secret_basic' as AuthMethod,
  allowedScopes: [] as string[],
  allowedAudiences: [] as string[],
  grantTypes: [...GRANT_TYPES] as string[],
  maxDelegationDepth: 4,
  tokenTtlSeconds: 300,
  mayImpersonate: false,
  dpopBoundAccessTokens: false,
};

const closed = { additionalProperties: false } as const;

function uniqueList<T extends TSchema>(item: T, options: { minItems?: number } = {}) {
  return Type.Array(item, { uniqueItems: true, maxItems: MAX_LIST_ITEMS, ...options });
}

const ScopeList = uniqueList(Type.String({ minLength: 1, maxLength: 200, pattern: SCOPE_TOKEN_PATTERN }));
const AudienceList = uniqueList(Type.String({ minLength: 1, maxLength: 500, pattern: AUDIENCE_PATTERN }));
const HttpUrl = Type.String({ minLength: 1, maxLength: MAX_URL_LENGTH });
const Timestamp = Type.String({ description: 'RFC 3339 date-time' });

/**
 * RFC 7517 §5: a JWK Set. Members of each key beyond the common ones are kept open (JWKs carry
 * kty-specific members); validation.ts refuses private members and keys that do not import.
 */
export const JwkSet = Type.Object(
  {
    keys: Type.Array(
      Type.Object(
        {
          kty: Type.String({ minLength: 1, maxLength: 10 }),
          kid: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
          alg: Type.Optional(Type.String({ minLength: 1, maxLength: 20 })),
          use: Type.Optional(Type.String({ minLength: 1, maxLength: 10 })),
        },
        { additionalProperties: true },
      ),
      { minItems: 1, maxItems: MAX_JWKS_KEYS },
    ),
  },
  closed,
);
export type JwkSet = Static<typeof JwkSet>;

// ---- agents ----------------------------------------------------------------------------------

/** ADR 0023: the Kubernetes service account a `kubernetes_service_account` agent runs as. */
export const KubernetesServiceAccount = Type.Object(
  {
    issuer: Type.String({
      minLength: 1,
      maxLength: MAX_URL_LENGTH,
      description: "the cluster's service-account token issuer, registered under /admin/kubernetes-clusters",
    }),
    namespace: Type.String({ minLength: 1, maxLength: 63 }),
    name: Type.String({ minLength: 1, maxLength: 253, description: 'the service account name' }),
  },
  closed,
);
export type KubernetesServiceAccount = Static<typeof KubernetesServiceAccount>;

const agentFields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  description: Type.String({ maxLength: 2000 }),
  owner: Type.String({ maxLength: 200 }),
  tokenEndpointAuthMethod: Type.Union(AUTH_METHODS.map((method) => Type.Literal(method))),
  jwks: JwkSet,
  jwksUri: HttpUrl,
  allowedScopes: ScopeList,
  allowedAudiences: AudienceList,
  grantTypes: uniqueList(Type.Union(ALLOWED_GRANT_TYPES.map((grant) => Type.Literal(grant))), {
    minItems: 1,
  }),
  maxDelegationDepth: Type.Integer({ minimum: 1 }),
  tokenTtlSeconds: Type.Integer({ minimum: 1, maximum: MAX_TOKEN_TTL_SECONDS }),
  mayImpersonate: Type.Boolean(),
  dpopBoundAccessTokens: Type.Boolean({
    description:
      'RFC 9449 §5.2 dpop_bound_access_tokens: every token request must carry a DPoP proof, so every token is DPoP-bound',
  }),
  spiffeId: Type.String({
    minLength: 1,
    maxLength: 2048,
    description: 'for jwt_spiffe: the SPIFFE ID (the JWT-SVID sub) this agent authenticates as',
  }),
  kubernetesServiceAccount: KubernetesServiceAccount,
};

export const AgentCreateBody = Type.Object(
  {
    id: Type.Optional(Type.String({ pattern: AGENT_ID_PATTERN })),
    name: agentFields.name,
    description: Type.Optional(agentFields.description),
    owner: Type.Optional(agentFields.owner),
    tokenEndpointAuthMethod: Type.Optional(agentFields.tokenEndpointAuthMethod),
    jwks: Type.Optional(agentFields.jwks),
    jwksUri: Type.Optional(agentFields.jwksUri),
    allowedScopes: Type.Optional(agentFields.allowedScopes),
    allowedAudiences: Type.Optional(agentFields.allowedAudiences),
    grantTypes: Type.Optional(agentFields.grantTypes),
    maxDelegationDepth: Type.Optional(agentFields.maxDelegationDepth),
    tokenTtlSeconds: Type.Optional(agentFields.tokenTtlSeconds),
    mayImpersonate: Type.Optional(agentFields.mayImpersonate),
    dpopBoundAccessTokens: Type.Optional(agentFields.dpopBoundAccessTokens),
    spiffeId: Type.Optional(agentFields.spiffeId),
    kubernetesServiceAccount: Type.Optional(agentFields.kubernetesServiceAccount),
  },
  closed,
);
export type AgentCreateBody = Static<typeof AgentCreateBody>;

/**
 * CONTRACT §4: any field but `id`. `jwks` or `jwksUri` replaces the key source (the other one is
 * dropped); `null` clears it.
 */
export const AgentPatchBody = Type.Object(
  {
    name: Type.Optional(agentFields.name),
    description: Type.Optional(agentFields.description),
    owner: Type.Optional(agentFields.owner),
    tokenEndpointAuthMethod: Type.Optional(agentFields.tokenEndpointAuthMethod),
    jwks: Type.Optional(Type.Union([agentFields.jwks, Type.Null()])),
    jwksUri: Type.Optional(Type.Union([agentFields.jwksUri, Type.Null()])),
    allowedScopes: Type.Optional(agentFields.allowedScopes),
    allowedAudiences: Type.Optional(agentFields.allowedAudiences),
    grantTypes: Type.Optional(agentFields.grantTypes),
    maxDelegationDepth: Type.Optional(agentFields.maxDelegationDepth),
    tokenTtlSeconds: Type.Optional(agentFields.tokenTtlSeconds),
    mayImpersonate: Type.Optional(agentFields.mayImpersonate),
    dpopBoundAccessTokens: Type.Optional(agentFields.dpopBoundAccessTokens),
    spiffeId: Type.Optional(agentFields.spiffeId),
    kubernetesServiceAccount: Type.Optional(agentFields.kubernetesServiceAccount),
  },
  { ...closed, minProperties: 1 },
);
export type AgentPatchBody = Static<typeof AgentPatchBody>;

export const AgentView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  owner: Type.String(),
  status: Type.Union([Type.Literal('enabled'), Type.Literal('disabled'), Type.Literal('deleted')]),
  tokenEndpointAuthMethod: Type.String(),
  jwks: Type.Unknown({ description: 'the JWK Set, or null' }),
  jwksUri: Type.Union([Type.String(), Type.Null()]),
  allowedScopes: Type.Array(Type.String()),
  allowedAudiences: Type.Array(Type.String()),
  grantTypes: Type.Array(Type.String()),
  maxDelegationDepth: Type.Integer(),
  tokenTtlSeconds: Type.Integer(),
  mayImpersonate: Type.Boolean(),
  dpopBoundAccessTokens: Type.Boolean(),
  spiffeId: Type.Union([Type.String(), Type.Null()]),
  kubernetesServiceAccount: Type.Union([KubernetesServiceAccount, Type.Null()]),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  deletedAt: Type.Union([Timestamp, Type.Null()]),
});
export type AgentView = Static<typeof AgentView>;

/** The agent plus its client secret: only in the answer that creates or rotates it (AD-09). */
export const AgentWithSecretView = Type.Object({
  ...AgentView.properties,
  clientSecret: Type.Optional(Type.String()),
});
export type AgentWithSecretView = Static<typeof AgentWithSecretView>;

// ---- resources -------------------------------------------------------------------------------

const resourceFields = {
  name: Type.String({ maxLength: 200 }),
  scopes: ScopeList,
};

export const ResourceCreateBody = Type.Object(
  {
    id: Type.String({ pattern: RESOURCE_ID_PATTERN }),
    name: Type.Optional(resourceFields.name),
    scopes: Type.Optional(resourceFields.scopes),
  },
  closed,
);
export type ResourceCreateBody = Static<typeof ResourceCreateBody>;

export const ResourcePatchBody = Type.Object(
  { name: Type.Optional(resourceFields.name), scopes: Type.Optional(resourceFields.scopes) },
  { ...closed, minProperties: 1 },
);
export type ResourcePatchBody = Static<typeof ResourcePatchBody>;

export const ResourceView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  scopes: Type.Array(Type.String()),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type ResourceView = Static<typeof ResourceView>;

// ---- trusted issuers -------------------------------------------------------------------------

const issuerFields = {
  issuer: HttpUrl,
  jwks: JwkSet,
  jwksUri: HttpUrl,
  audiences: uniqueList(Type.String({ minLength: 1, maxLength: 500, pattern: AUDIENCE_PATTERN }), {
    minItems: 1,
  }),
  scopeClaim: Type.Union([Type.Literal('scope'), Type.Literal('scp')]),
  maxDelegationDepth: Type.Integer({ minimum: 1 }),
};

export const TrustedIssuerCreateBody = Type.Object(
  {
    id: Type.Optional(Type.String({ pattern: AGENT_ID_PATTERN })),
    issuer: issuerFields.issuer,
    jwks: Type.Optional(issuerFields.jwks),
    jwksUri: Type.Optional(issuerFields.jwksUri),
    audiences: issuerFields.audiences,
    scopeClaim: Type.Optional(issuerFields.scopeClaim),
    maxDelegationDepth: Type.Optional(issuerFields.maxDelegationDepth),
  },
  closed,
);
export type TrustedIssuerCreateBody = Static<typeof TrustedIssuerCreateBody>;

/** Any field but `id`; `jwks` or `jwksUri` replaces the key source; `maxDelegationDepth: null` lifts the limit. */
export const TrustedIssuerPatchBody = Type.Object(
  {
    issuer: Type.Optional(issuerFields.issuer),
    jwks: Type.Optional(issuerFields.jwks),
    jwksUri: Type.Optional(issuerFields.jwksUri),
    audiences: Type.Optional(issuerFields.audiences),
    scopeClaim: Type.Optional(issuerFields.scopeClaim),
    maxDelegationDepth: Type.Optional(Type.Union([issuerFields.maxDelegationDepth, Type.Null()])),
  },
  { ...closed, minProperties: 1 },
);
export type TrustedIssuerPatchBody = Static<typeof TrustedIssuerPatchBody>;

export const TrustedIssuerView = Type.Object({
  id: Type.String(),
  issuer: Type.String(),
  jwks: Type.Unknown({ description: 'the JWK Set, or null' }),
  jwksUri: Type.Union([Type.String(), Type.Null()]),
  audiences: Type.Array(Type.String()),
  scopeClaim: Type.String(),
  maxDelegationDepth: Type.Union([Type.Integer(), Type.Null()]),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type TrustedIssuerView = Static<typeof TrustedIssuerView>;

// ---- workload trust: SPIFFE trust domains and Kubernetes clusters (ADR 0023) --------------------

/**
 * A SPIFFE bundle (SPIFFE Trust Domain and Bundle §4): a JWK Set whose keys carry `use` =
 * `jwt-svid` or `x509-svid`. Only the JWT-SVID keys are kept.
 */
export const SpiffeBundle = Type.Object(
  {
    keys: Type.Array(
      Type.Object(
        {
          kty: Type.String({ minLength: 1, maxLength: 10 }),
          kid: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
          use: Type.Optional(Type.String({ minLength: 1, maxLength: 10 })),
        },
        { additionalProperties: true },
      ),
      { minItems: 1, maxItems: MAX_JWKS_KEYS },
    ),
    spiffe_sequence: Type.Optional(Type.Integer({ minimum: 0 })),
    spiffe_refresh_hint: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  closed,
);
export type SpiffeBundle = Static<typeof SpiffeBundle>;

export const TrustDomainCreateBody = Type.Object(
  {
    id: Type.Optional(Type.String({ pattern: AGENT_ID_PATTERN })),
    trustDomain: Type.String({
      minLength: 1,
      maxLength: 255,
      description: 'the trust domain name, as in spiffe://<trustDomain>/...',
    }),
    bundle: Type.Optional(SpiffeBundle),
    bundleEndpointUrl: Type.Optional(HttpUrl),
  },
  closed,
);
export type TrustDomainCreateBody = Static<typeof TrustDomainCreateBody>;

/** `bundle` or `bundleEndpointUrl` replaces the key source as a whole. */
export const TrustDomainPatchBody = Type.Object(
  { bundle: Type.Optional(SpiffeBundle), bundleEndpointUrl: Type.Optional(HttpUrl) },
  { ...closed, minProperties: 1 },
);
export type TrustDomainPatchBody = Static<typeof TrustDomainPatchBody>;

export const TrustDomainView = Type.Object({
  id: Type.String(),
  trustDomain: Type.String(),
  bundle: Type.Unknown({ description: 'the JWT-SVID keys of an inline bundle, or null' }),
  bundleEndpointUrl: Type.Union([Type.String(), Type.Null()]),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type TrustDomainView = Static<typeof TrustDomainView>;

export const ClusterCreateBody = Type.Object(
  {
    id: Type.Optional(Type.String({ pattern: AGENT_ID_PATTERN })),
    issuer: Type.String({
      minLength: 1,
      maxLength: MAX_URL_LENGTH,
      description: "the cluster's service-account issuer (kube-apiserver --service-account-issuer)",
    }),
    jwks: Type.Optional(JwkSet),
    jwksUri: Type.Optional(HttpUrl),
  },
  closed,
);
export type ClusterCreateBody = Static<typeof ClusterCreateBody>;

export const ClusterPatchBody = Type.Object(
  { jwks: Type.Optional(JwkSet), jwksUri: Type.Optional(HttpUrl) },
  { ...closed, minProperties: 1 },
);
export type ClusterPatchBody = Static<typeof ClusterPatchBody>;

export const ClusterView = Type.Object({
  id: Type.String(),
  issuer: Type.String(),
  jwks: Type.Unknown({ description: 'the JWK Set, or null' }),
  jwksUri: Type.Union([Type.String(), Type.Null()]),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type ClusterView = Static<typeof ClusterView>;

// ---- shared request parts --------------------------------------------------------------------

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 500 }) }, closed);
export type IdParams = Static<typeof IdParams>;

export const ListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
  },
  closed,
);
export type ListQuery = Static<typeof ListQuery>;

export const AgentListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
    includeDeleted: Type.Optional(Type.Boolean()),
  },
  closed,
);
export type AgentListQuery = Static<typeof AgentListQuery>;

export function Page<T extends TSchema>(item: T) {
  return Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });
}

// ---- signing keys ----------------------------------------------------------------------------

/** A public JWK: what the JWKS publishes, never a private member (KM-01). */
const PublicJwk = Type.Object(
  {
    kty: Type.String(),
    crv: Type.Optional(Type.String()),
    x: Type.Optional(Type.String()),
    y: Type.Optional(Type.String()),
    n: Type.Optional(Type.String()),
    e: Type.Optional(Type.String()),
    kid: Type.Optional(Type.String()),
    alg: Type.Optional(Type.String()),
    use: Type.Optional(Type.String()),
  },
  closed,
);

export const SigningKeyView = Type.Object({
  kid: Type.String(),
  alg: Type.String(),
  state: Type.Union(
    [Type.Literal('next'), Type.Literal('active'), Type.Literal('retired'), Type.Literal('revoked')],
    {
      description:
        'next: published, not yet signing; active: signing; retired: no longer signing; revoked: withdrawn in an emergency, never published or trusted again',
    },
  ),
  published: Type.Boolean({
    description: "in the JWKS, and accepted in this service's own subject and actor tokens",
  }),
  createdAt: Timestamp,
  activatesAt: Type.Union([Timestamp, Type.Null()], {
    description: 'for a next key: when it starts signing (createdAt + KEY_ROTATION_DELAY_SECONDS)',
  }),
  activatedAt: Type.Union([Timestamp, Type.Null()]),
  retiredAt: Type.Union([Timestamp, Type.Null()]),
  revokedAt: Type.Union([Timestamp, Type.Null()]),
  publicJwk: PublicJwk,
});
export type SigningKeyView = Static<typeof SigningKeyView>;

export const SigningKeyList = Type.Object({ items: Type.Array(SigningKeyView) });
export type SigningKeyList = Static<typeof SigningKeyList>;

/** A signing key's `kid` as this service generates it, or anything printable an operator pastes. */
export const KidParams = Type.Object(
  { kid: Type.String({ minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7E]+$' }) },
  closed,
);
export type KidParams = Static<typeof KidParams>;

/** The revoked key, and the key that signs from now on (a new one when the active key was revoked). */
export const SigningKeyRevocation = Type.Object({ revoked: SigningKeyView, active: SigningKeyView });
export type SigningKeyRevocation = Static<typeof SigningKeyRevocation>;

// ---- revocations, audit, chains --------------------------------------------------------------

/** A `jti` or `txn` as this service issues them (UUIDs), or any printable token id. */
const TokenIdentifier = Type.String({ minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7E]+$' });
/** RFC 3339 date-time with an explicit offset; audit.ts also checks that it is a real instant. */
const DATE_TIME_PATTERN = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$';

/** CONTRACT §4: exactly one of `jti`, `txn` or `agent`; anything else is refused. */
export const RevocationBody = Type.Union(
  [
    Type.Object(
      { jti: TokenIdentifier },
      { ...closed, description: 'one token and everything derived from it' },
    ),
    Type.Object({ txn: TokenIdentifier }, { ...closed, description: 'every token of one chain' }),
    Type.Object(
      { agent: Type.String({ pattern: AGENT_ID_PATTERN }) },
      {
        ...closed,
        description:
          'every live token the agent acted in or that is addressed to it (aud), and their descendants',
      },
    ),
  ],
  { description: 'exactly one of jti, txn, agent' },
);
export type RevocationBody = Static<typeof RevocationBody>;

export const RevocationView = Type.Object({
  revoked: Type.Integer({
    description: 'how many tokens this request revoked (already revoked ones not counted)',
  }),
  jtis: Type.Array(Type.String(), { description: 'the jti of every token this request revoked' }),
});
export type RevocationView = Static<typeof RevocationView>;

/** What every log query (audit, admin events) takes: an inclusive time range and a page. */
const logQueryFields = {
  from: Type.Optional(Type.String({ pattern: DATE_TIME_PATTERN, description: 'RFC 3339; inclusive' })),
  to: Type.Optional(Type.String({ pattern: DATE_TIME_PATTERN, description: 'RFC 3339; inclusive' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE })),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
};

export const AuditQuery = Type.Object(
  {
    agent: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'client_id of the event' }),
    ),
    subject: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
    txn: Type.Optional(TokenIdentifier),
    decision: Type.Optional(Type.Union([Type.Literal('granted'), Type.Literal('denied')])),
    ...logQueryFields,
  },
  closed,
);
export type AuditQuery = Static<typeof AuditQuery>;

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const AuditEventView = Type.Object({
  id: Type.String({ description: 'increases with every event' }),
  at: Timestamp,
  decision: Type.Union([Type.Literal('granted'), Type.Literal('denied')]),
  rule: Type.String({ description: 'the stable name of the rule that decided' }),
  grantType: Nullable(Type.String()),
  clientId: Nullable(Type.String()),
  subject: Nullable(Type.String()),
  audience: Nullable(Type.String()),
  requestedScope: Nullable(Type.String()),
  grantedScope: Nullable(Type.String()),
  jti: Nullable(Type.String()),
  parentJti: Nullable(Type.String()),
  txn: Nullable(Type.String()),
  impersonation: Type.Boolean(),
  description: Nullable(Type.String()),
});
export type AuditEventView = Static<typeof AuditEventView>;

export const TxnParams = Type.Object({ txn: TokenIdentifier }, closed);
export type TxnParams = Static<typeof TxnParams>;

export const TOKEN_STATUSES = ['live', 'expired', 'revoked'] as const;
export type TokenStatus = (typeof TOKEN_STATUSES)[number];

export const TOKEN_KINDS = ['access_token', 'txn_token'] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

export const ChainNodeView = Type.Recursive(
  (Node) =>
    Type.Object({
      jti: Type.String(),
      parentJti: Nullable(Type.String()),
      kind: Type.Union(
        TOKEN_KINDS.map((kind) => Type.Literal(kind)),
        {
          description:
            'txn_token: a Transaction Token for the configured Trust Domain (ADR 0024), whose actor is its requesting workload (req_wl); else an access token',
        },
      ),
      actor: Type.String({ description: 'client_id: the agent that made this hop' }),
      sub: Type.String(),
      aud: Type.String(),
      scopes: Type.Array(Type.String()),
      depth: Type.Integer({ description: 'number of actors in the chain' }),
      impersonation: Type.Boolean({ description: 'the hop was issued without `act` (ADR 0005)' }),
      jkt: Nullable(
        Type.String({ description: 'RFC 9449 `cnf.jkt` of a DPoP-bound token; null for Bearer' }),
      ),
      issuedAt: Timestamp,
      expiresAt: Timestamp,
      revokedAt: Nullable(Timestamp),
      status: Type.Union(
        TOKEN_STATUSES.map((status) => Type.Literal(status)),
        { description: 'revoked when it or an ancestor was revoked before it expired' },
      ),
      children: Type.Array(Node),
    }),
  { $id: 'ChainNode' },
);
export type ChainNodeView = Static<typeof ChainNodeView>;

/** ADR 0025: the foreign parent of a chain that crossed in from a peer domain. */
export const ChainOriginView = Type.Object({
  issuer: Type.String({ description: 'the peer domain that issued the JWT authorization grant' }),
  grantJti: Type.String({ description: 'the `jti` of the grant' }),
  grantTxn: Nullable(
    Type.String({ description: 'the chain id in the peer domain, when the grant carried one' }),
  ),
  grantClientId: Nullable(
    Type.String({ description: 'the agent of the peer domain the grant was issued to' }),
  ),
  foreignActors: Type.Array(Type.String(), {
    description: "the grant's actors, named here (`agent@issuer`)",
  }),
  redeemedBy: Type.String({ description: 'the local client that redeemed the grant' }),
  redeemedAt: Timestamp,
});
export type ChainOriginView = Static<typeof ChainOriginView>;

export const ChainView = Type.Object({
  txn: Type.String(),
  tokenCount: Type.Integer(),
  origin: Nullable(ChainOriginView),
  roots: Type.Array(ChainNodeView, { description: 'tokens with no parent in the chain; usually one' }),
});
export type ChainView = Static<typeof ChainView>;

// ---- admin events ----------------------------------------------------------------------------

const literals = <T extends string>(values: readonly T[]) => values.map((value) => Type.Literal(value));

export const AdminEventQuery = Type.Object(
  {
    actor: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: 'the agent whose sts:admin access token made the change',
      }),
    ),
    actorKind: Type.Optional(
      Type.Union(literals(ADMIN_ACTOR_KINDS), {
        description: 'admin_token: the bootstrap ADMIN_TOKEN; access_token: an sts:admin access token',
      }),
    ),
    action: Type.Optional(Type.Union(literals(ADMIN_ACTIONS))),
    targetType: Type.Optional(Type.Union(literals(ADMIN_TARGET_TYPES))),
    targetId: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
    ...logQueryFields,
  },
  closed,
);
export type AdminEventQuery = Static<typeof AdminEventQuery>;

export const AdminEventView = Type.Object({
  id: Type.String({ description: 'increases with every event' }),
  at: Timestamp,
  actorKind: Type.Union(literals(ADMIN_ACTOR_KINDS)),
  actor: Nullable(
    Type.String({ description: 'the agent whose sts:admin token made the change; null for ADMIN_TOKEN' }),
  ),
  actorJti: Nullable(Type.String({ description: 'the jti of that access token; null for ADMIN_TOKEN' })),
  action: Type.String({ description: `one of ${ADMIN_ACTIONS.join(', ')}` }),
  targetType: Type.String({ description: `one of ${ADMIN_TARGET_TYPES.join(', ')}` }),
  targetId: Type.String(),
  changes: Type.Record(Type.String(), Type.Unknown(), {
    description:
      'Registry and key changes: {field: {before, after}} for each field that changed (null before a creation and after a deletion); a JWKS as the kid and RFC 7638 thumbprint of each key; a client secret only as "[redacted]" or null. tokens.revoked: {revoked, jtis}.',
  }),
  requestId: Type.String({ description: "the request's id in the service log" }),
});
export type AdminEventView = Static<typeof AdminEventView>;
