/**
 * /admin/peer-domains (ADR 0025, draft-ietf-oauth-identity-chaining): other authorization servers
 * this service chains identities with. Outbound, a peer is the audience of JWT authorization
 * grants issued here by token exchange (`grantRequesters` may ask, for at most `grantScopes`).
 * Inbound, a peer issues grants that `redeemingClients` redeem here with the JWT bearer grant,
 * verified with its `jwks` or `jwksUri` (fetched through the guarded JWKS fetch, AD-06), and
 * conferring at most `acceptedScopes`. Every write is audited and announced (ADR 0017).
 */
import { randomUUID } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { PeerDomain } from '../../infra/admin-store.js';
import { MAX_GRANT_TTL_SECONDS } from '../../protocol/authorization-grant.js';
import { ProblemError } from '../problem.js';
import { changedBy, found, listPage, notFound, type AdminRouteOptions } from './common.js';
import { AGENT_ID_PATTERN, IdParams, JwkSet, ListQuery, MAX_LIST_ITEMS, Page } from './schemas.js';
import {
  checkDelegationDepth,
  checkFetchableUrl,
  checkIssuerUrl,
  checkJwks,
  checkNoWildcards,
  type ValidationContext,
} from './validation.js';

const closed = { additionalProperties: false } as const;
const list = (pattern: string, maxLength: number) =>
  Type.Array(Type.String({ minLength: 1, maxLength, pattern }), {
    uniqueItems: true,
    maxItems: MAX_LIST_ITEMS,
  });
const ScopeList = list('^[\\x21\\x23-\\x5B\\x5D-\\x7E]+$', 200);
const AgentList = list(AGENT_ID_PATTERN, 200);
const HttpUrl = Type.String({ minLength: 1, maxLength: 2048 });

const peerFields = {
  issuer: HttpUrl,
  grantRequesters: AgentList,
  grantScopes: ScopeList,
  grantTtlSeconds: Type.Integer({ minimum: 1, maximum: MAX_GRANT_TTL_SECONDS }),
  jwks: JwkSet,
  jwksUri: HttpUrl,
  redeemingClients: AgentList,
  acceptedScopes: ScopeList,
  subjectMapping: Type.Union([Type.Literal('preserve'), Type.Literal('qualify')]),
  maxDelegationDepth: Type.Integer({ minimum: 1 }),
};

export const PeerDomainCreateBody = Type.Object(
  {
    id: Type.Optional(Type.String({ pattern: AGENT_ID_PATTERN })),
    issuer: peerFields.issuer,
    grantRequesters: Type.Optional(peerFields.grantRequesters),
    grantScopes: Type.Optional(peerFields.grantScopes),
    grantTtlSeconds: Type.Optional(peerFields.grantTtlSeconds),
    jwks: Type.Optional(peerFields.jwks),
    jwksUri: Type.Optional(peerFields.jwksUri),
    redeemingClients: Type.Optional(peerFields.redeemingClients),
    acceptedScopes: Type.Optional(peerFields.acceptedScopes),
    subjectMapping: Type.Optional(peerFields.subjectMapping),
    maxDelegationDepth: Type.Optional(peerFields.maxDelegationDepth),
  },
  closed,
);
export type PeerDomainCreateBody = Static<typeof PeerDomainCreateBody>;

/** Any field but `id`; `jwks` or `jwksUri` replaces the key source; `null` removes keys or the depth limit. */
export const PeerDomainPatchBody = Type.Object(
  {
    issuer: Type.Optional(peerFields.issuer),
    grantRequesters: Type.Optional(peerFields.grantRequesters),
    grantScopes: Type.Optional(peerFields.grantScopes),
    grantTtlSeconds: Type.Optional(peerFields.grantTtlSeconds),
    jwks: Type.Optional(Type.Union([peerFields.jwks, Type.Null()])),
    jwksUri: Type.Optional(Type.Union([peerFields.jwksUri, Type.Null()])),
    redeemingClients: Type.Optional(peerFields.redeemingClients),
    acceptedScopes: Type.Optional(peerFields.acceptedScopes),
    subjectMapping: Type.Optional(peerFields.subjectMapping),
    maxDelegationDepth: Type.Optional(Type.Union([peerFields.maxDelegationDepth, Type.Null()])),
  },
  { ...closed, minProperties: 1 },
);
export type PeerDomainPatchBody = Static<typeof PeerDomainPatchBody>;

export const PeerDomainView = Type.Object({
  id: Type.String(),
  issuer: Type.String(),
  grantRequesters: Type.Array(Type.String()),
  grantScopes: Type.Array(Type.String()),
  grantTtlSeconds: Type.Integer(),
  jwks: Type.Unknown({ description: 'the JWK Set, or null' }),
  jwksUri: Type.Union([Type.String(), Type.Null()]),
  redeemingClients: Type.Array(Type.String()),
  acceptedScopes: Type.Array(Type.String()),
  subjectMapping: Type.String(),
  maxDelegationDepth: Type.Union([Type.Integer(), Type.Null()]),
  createdAt: Type.String({ description: 'RFC 3339 date-time' }),
  updatedAt: Type.String({ description: 'RFC 3339 date-time' }),
});
export type PeerDomainView = Static<typeof PeerDomainView>;

export function peerDomainView(row: PeerDomain): PeerDomainView {
  return {
    id: row.id,
    issuer: row.issuer,
    grantRequesters: row.grantRequesters,
    grantScopes: row.grantScopes,
    grantTtlSeconds: row.grantTtlSeconds,
    jwks: row.jwks ?? null,
    jwksUri: row.jwksUri,
    redeemingClients: row.redeemingClients,
    acceptedScopes: row.acceptedScopes,
    subjectMapping: row.subjectMapping,
    maxDelegationDepth: row.maxDelegationDepth,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

interface PeerDomainSettings {
  readonly issuer: string;
  readonly grantScopes: readonly string[];
  readonly jwks: JwkSet | null;
  readonly jwksUri: string | null;
  readonly redeemingClients: readonly string[];
  readonly acceptedScopes: readonly string[];
  readonly maxDelegationDepth: number | null;
}

function invalidKeySource(path: string, detail: string): ProblemError {
  return new ProblemError(400, 'invalid_key_source', detail, [{ path, message: detail }]);
}

/**
 * The whole object, on create and after merging a PATCH (AD-08): an issuer URL that is not this
 * service (SSRF-guarded as a JWKS URI is, AD-06), no wildcards, a depth within the service limit,
 * and keys exactly when grants are redeemed from it: a peer whose grants nobody redeems needs none.
 */
export async function checkPeerDomain(peer: PeerDomainSettings, context: ValidationContext): Promise<void> {
  checkIssuerUrl(peer.issuer, context);
  checkNoWildcards(peer.grantScopes, '/grantScopes');
  checkNoWildcards(peer.acceptedScopes, '/acceptedScopes');
  checkDelegationDepth(peer.maxDelegationDepth, context, '/maxDelegationDepth');
  if (peer.jwks !== null && peer.jwksUri !== null) {
    throw invalidKeySource('/jwks', 'give jwks or jwksUri, not both');
  }
  if (peer.redeemingClients.length > 0 && peer.jwks === null && peer.jwksUri === null) {
    throw invalidKeySource('/jwks', 'jwks or jwksUri is required to redeem this domain\u2019s grants');
  }
  if (peer.jwks !== null) await checkJwks(peer.jwks, '/jwks');
  if (peer.jwksUri !== null) checkFetchableUrl(peer.jwksUri, context, '/jwksUri');
}

export async function peerDomainRoutes(app: FastifyInstance, { store, context }: AdminRouteOptions) {
  app.post<{ Body: PeerDomainCreateBody }>(
    '/peer-domains',
    {
      schema: {
        summary: 'Register a peer domain (identity chaining)',
        description:
          'Another authorization server to chain identities with (draft-ietf-oauth-identity-chaining). Outbound: grantRequesters may exchange a token for a JWT authorization grant whose aud is issuer (token exchange with audience or resource = issuer, requested_token_type urn:ietf:params:oauth:token-type:jwt), carrying at most grantScopes, living at most grantTtlSeconds. Inbound: redeemingClients may redeem its grants with grant_type urn:ietf:params:oauth:grant-type:jwt-bearer (RFC 7523 §2.1), verified with jwks or jwksUri, conferring at most acceptedScopes.',
        body: PeerDomainCreateBody,
        response: { 201: PeerDomainView },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const peer = {
        id: body.id ?? `peer-${randomUUID()}`,
        issuer: body.issuer,
        grantRequesters: body.grantRequesters ?? [],
        grantScopes: body.grantScopes ?? [],
        grantTtlSeconds: body.grantTtlSeconds ?? 60,
        jwks: body.jwks ?? null,
        jwksUri: body.jwksUri ?? null,
        redeemingClients: body.redeemingClients ?? [],
        acceptedScopes: body.acceptedScopes ?? [],
        subjectMapping: body.subjectMapping ?? 'preserve',
        maxDelegationDepth: body.maxDelegationDepth ?? null,
      };
      await checkPeerDomain(peer, context);
      const row = await store.createPeerDomain(peer, changedBy(request));
      request.log.info({ peerDomain: row.id }, 'admin registered a peer domain');
      return reply.code(201).send(peerDomainView(row));
    },
  );

  app.get<{ Querystring: ListQuery }>(
    '/peer-domains',
    {
      schema: {
        summary: 'List peer domains',
        querystring: ListQuery,
        response: { 200: Page(PeerDomainView) },
      },
    },
    async (request) => listPage(request.query, (page) => store.listPeerDomains(page), peerDomainView),
  );

  app.get<{ Params: IdParams }>(
    '/peer-domains/:id',
    { schema: { summary: 'Read a peer domain', params: IdParams, response: { 200: PeerDomainView } } },
    async (request) =>
      peerDomainView(found(await store.getPeerDomain(request.params.id), 'peer domain', request.params.id)),
  );

  app.patch<{ Params: IdParams; Body: PeerDomainPatchBody }>(
    '/peer-domains/:id',
    {
      schema: {
        summary: 'Change a peer domain',
        params: IdParams,
        body: PeerDomainPatchBody,
        response: { 200: PeerDomainView },
      },
    },
    async (request) => {
      const patch = request.body;
      const row = await store.updatePeerDomain(
        request.params.id,
        async (current) => {
          const newKeySource = patch.jwks !== undefined || patch.jwksUri !== undefined;
          const merged = {
            issuer: patch.issuer ?? current.issuer,
            grantRequesters: patch.grantRequesters ?? current.grantRequesters,
            grantScopes: patch.grantScopes ?? current.grantScopes,
            grantTtlSeconds: patch.grantTtlSeconds ?? current.grantTtlSeconds,
            jwks: newKeySource ? (patch.jwks ?? null) : (current.jwks as JwkSet | null),
            jwksUri: newKeySource ? (patch.jwksUri ?? null) : current.jwksUri,
            redeemingClients: patch.redeemingClients ?? current.redeemingClients,
            acceptedScopes: patch.acceptedScopes ?? current.acceptedScopes,
            subjectMapping: patch.subjectMapping ?? current.subjectMapping,
            maxDelegationDepth:
              patch.maxDelegationDepth === undefined ? current.maxDelegationDepth : patch.maxDelegationDepth,
          };
          await checkPeerDomain(merged, context);
          return merged;
        },
        changedBy(request),
      );
      request.log.info({ peerDomain: request.params.id }, 'admin changed a peer domain');
      return peerDomainView(found(row, 'peer domain', request.params.id));
    },
  );

  app.delete<{ Params: IdParams }>(
    '/peer-domains/:id',
    { schema: { summary: 'Delete a peer domain; every chain it started here ends', params: IdParams } },
    async (request, reply) => {
      if (!(await store.deletePeerDomain(request.params.id, changedBy(request)))) {
        throw notFound('peer domain', request.params.id);
      }
      request.log.info({ peerDomain: request.params.id }, 'admin deleted a peer domain');
      return reply.code(204).send();
    },
  );
}
