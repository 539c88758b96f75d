/**
 * /admin/resources (CONTRACT §4): audiences that are not agents (APIs, MCP servers). The id is the
 * `aud` value; it can never also be an agent, live or deleted (AD-04). Deleting is a real delete.
 */
import type { FastifyInstance } from 'fastify';
import { changedBy, found, listPage, notFound, type AdminRouteOptions } from './common.js';
import { IdParams, ListQuery, Page, ResourceCreateBody, ResourcePatchBody, ResourceView } from './schemas.js';
import { checkNotReserved, checkResource } from './validation.js';
import { resourceView } from './views.js';

export async function resourceRoutes(app: FastifyInstance, { store, context }: AdminRouteOptions) {
  app.post<{ Body: ResourceCreateBody }>(
    '/resources',
    { schema: { summary: 'Register a resource', body: ResourceCreateBody, response: { 201: ResourceView } } },
    async (request, reply) => {
      const resource = { name: '', scopes: [], ...request.body };
      checkNotReserved(resource.id, context);
      checkResource(resource);
      const row = await store.createResource(resource, changedBy(request));
      request.log.info({ resource: row.id }, 'admin registered a resource');
      return reply.code(201).send(resourceView(row));
    },
  );

  app.get<{ Querystring: ListQuery }>(
    '/resources',
    { schema: { summary: 'List resources', querystring: ListQuery, response: { 200: Page(ResourceView) } } },
    async (request) => listPage(request.query, (page) => store.listResources(page), resourceView),
  );

  app.get<{ Params: IdParams }>(
    '/resources/:id',
    { schema: { summary: 'Read a resource', params: IdParams, response: { 200: ResourceView } } },
    async (request) =>
      resourceView(found(await store.getResource(request.params.id), 'resource', request.params.id)),
  );

  app.patch<{ Params: IdParams; Body: ResourcePatchBody }>(
    '/resources/:id',
    {
      schema: {
        summary: 'Change a resource',
        params: IdParams,
        body: ResourcePatchBody,
        response: { 200: ResourceView },
      },
    },
    async (request) => {
      const row = await store.updateResource(
        request.params.id,
        async (current) => {
          const merged = {
            name: request.body.name ?? current.name,
            scopes: request.body.scopes ?? current.scopes,
          };
          checkResource(merged);
          return merged;
        },
        changedBy(request),
      );
      request.log.info({ resource: request.params.id }, 'admin changed a resource');
      return resourceView(found(row, 'resource', request.params.id));
    },
  );

  app.delete<{ Params: IdParams }>(
    '/resources/:id',
    { schema: { summary: 'Delete a resource', params: IdParams } },
    async (request, reply) => {
      if (!(await store.deleteResource(request.params.id, changedBy(request)))) {
        throw notFound('resource', request.params.id);
      }
      request.log.info({ resource: request.params.id }, 'admin deleted a resource');
      return reply.code(204).send();
    },
  );
}
