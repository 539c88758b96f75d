/**
 * GET /admin/events: the admin change log, newest first. Who (the bootstrap admin token, or the
 * agent and jti of an sts:admin access token) changed which agent, resource, trusted issuer or
 * signing key, or revoked which tokens, what changed, when, and in which request. Filtered by
 * actor, action, target and a time range; paged by event id like the audit log.
 */
import type { FastifyInstance } from 'fastify';
import { AdminEventLog } from '../../infra/admin-events.js';
import { eventPage, timeRange } from './common.js';
import { AdminEventQuery, AdminEventView, Page } from './schemas.js';
import { adminEventView } from './views.js';

export async function adminEventRoutes(app: FastifyInstance) {
  const log = new AdminEventLog(app.sts.database.prisma);

  app.get<{ Querystring: AdminEventQuery }>(
    '/events',
    {
      schema: {
        summary: 'List admin changes',
        description:
          'Every change made through the admin API, newest first: who made it (actorKind admin_token, or access_token with actor and actorJti), the action, the target and the fields that changed, before and after; never a secret, its digest or private key material. Filters: actor, actorKind, action, targetType, targetId, from and to (RFC 3339, inclusive). Paged with limit (1-200, default 50) and the opaque cursor of the previous page.',
        tags: ['events'],
        querystring: AdminEventQuery,
        response: { 200: Page(AdminEventView) },
      },
    },
    async (request) => {
      const { from, to, limit, cursor, ...filter } = request.query;
      const range = timeRange({ from, to });
      return eventPage({ limit, cursor }, (page) => log.list({ ...filter, ...range }, page), adminEventView);
    },
  );
}
