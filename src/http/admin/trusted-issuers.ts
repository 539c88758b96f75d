/**
 * /admin/trusted-issuers (CONTRACT §4): external issuers (a company IdP) whose tokens may be
 * subject tokens. `audiences` are the values by which such an issuer addresses this service; a
 * registered agent's id is refused there, since a token addressed to an agent belongs to that
 * agent alone.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { changedBy, found, listPage, notFound, type AdminRouteOptions } from './common.js';
import {
  IdParams,
  ListQuery,
  Page,
  TrustedIssuerCreateBody,
  TrustedIssuerPatchBody,
  TrustedIssuerView,
  type JwkSet,
} from './schemas.js';
import { checkTrustedIssuer } from './validation.js';
import { trustedIssuerView } from './views.js';

export async function trustedIssuerRoutes(app: FastifyInstance, { store, context }: AdminRouteOptions) {
  app.post<{ Body: TrustedIssuerCreateBody }>(
    '/trusted-issuers',
    {
      schema: {
        summary: 'Register a trusted issuer',
        body: TrustedIssuerCreateBody,
        response: { 201: TrustedIssuerView },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const issuer = {
        id: body.id ?? `ti-${randomUUID()}`,
        issuer: body.issuer,
        jwks: body.jwks ?? null,
        jwksUri: body.jwksUri ?? null,
        audiences: body.audiences,
        scopeClaim: body.scopeClaim ?? 'scope',
        maxDelegationDepth: body.maxDelegationDepth ?? null,
      };
      await checkTrustedIssuer(issuer, context);
      const row = await store.createTrustedIssuer(issuer, changedBy(request));
      request.log.info({ trustedIssuer: row.id }, 'admin registered a trusted issuer');
      return reply.code(201).send(trustedIssuerView(row));
    },
  );

  app.get<{ Querystring: ListQuery }>(
    '/trusted-issuers',
    {
      schema: {
        summary: 'List trusted issuers',
        querystring: ListQuery,
        response: { 200: Page(TrustedIssuerView) },
      },
    },
    async (request) => listPage(request.query, (page) => store.listTrustedIssuers(page), trustedIssuerView),
  );

  app.get<{ Params: IdParams }>(
    '/trusted-issuers/:id',
    { schema: { summary: 'Read a trusted issuer', params: IdParams, response: { 200: TrustedIssuerView } } },
    async (request) =>
      trustedIssuerView(
        found(await store.getTrustedIssuer(request.params.id), 'trusted issuer', request.params.id),
      ),
  );

  app.patch<{ Params: IdParams; Body: TrustedIssuerPatchBody }>(
    '/trusted-issuers/:id',
    {
      schema: {
        summary: 'Change a trusted issuer',
        params: IdParams,
        body: TrustedIssuerPatchBody,
        response: { 200: TrustedIssuerView },
      },
    },
    async (request) => {
      const patch = request.body;
      const row = await store.updateTrustedIssuer(
        request.params.id,
        async (current) => {
          // `jwks` or `jwksUri` replaces the key source as a whole.
          const newKeySource = patch.jwks !== undefined || patch.jwksUri !== undefined;
          const merged = {
            issuer: patch.issuer ?? current.issuer,
            jwks: newKeySource ? (patch.jwks ?? null) : (current.jwks as JwkSet | null),
            jwksUri: newKeySource ? (patch.jwksUri ?? null) : current.jwksUri,
            audiences: patch.audiences ?? current.audiences,
            scopeClaim: patch.scopeClaim ?? current.scopeClaim,
            maxDelegationDepth:
              patch.maxDelegationDepth === undefined ? current.maxDelegationDepth : patch.maxDelegationDepth,
          };
          await checkTrustedIssuer(merged, context);
          return merged;
        },
        changedBy(request),
      );
      request.log.info({ trustedIssuer: request.params.id }, 'admin changed a trusted issuer');
      return trustedIssuerView(found(row, 'trusted issuer', request.params.id));
    },
  );

  app.delete<{ Params: IdParams }>(
    '/trusted-issuers/:id',
    { schema: { summary: 'Delete a trusted issuer', params: IdParams } },
    async (request, reply) => {
      if (!(await store.deleteTrustedIssuer(request.params.id, changedBy(request)))) {
        throw notFound('trusted issuer', request.params.id);
      }
      request.log.info({ trustedIssuer: request.params.id }, 'admin deleted a trusted issuer');
      return reply.code(204).send();
    },
  );
}
