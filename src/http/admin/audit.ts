/**
 * GET /admin/audit (CONTRACT §4): the decision log, newest first, filtered by agent (`client_id`),
 * subject, chain (`txn`), decision and a time range; each event names the rule that decided it.
 * Pages are cut by event time and id (ADR 0022), so appending events never shifts a page.
 */
import type { FastifyInstance } from 'fastify';
import { AuditLog } from '../../infra/audit-store.js';
import { timelinePage, timeRange } from './common.js';
import { AuditEventView, AuditQuery, Page } from './schemas.js';
import { auditEventView } from './views.js';

export async function auditRoutes(app: FastifyInstance) {
  const log = new AuditLog(app.sts.database.prisma);

  app.get<{ Querystring: AuditQuery }>(
    '/audit',
    {
      schema: {
        summary: 'List audit events',
        description:
          'Every token decision and revocation, newest first. Filters: agent (client_id), subject, txn, decision (granted or denied), from and to (RFC 3339, inclusive). Paged with limit (1-200, default 50) and the opaque cursor of the previous page. Events are kept AUDIT_RETENTION_DAYS days, then dropped a whole day at a time; nothing else removes one.',
        querystring: AuditQuery,
        response: { 200: Page(AuditEventView) },
      },
    },
    async (request) => {
      const query = request.query;
      const range = timeRange(query);
      return timelinePage(
        query,
        (page) =>
          log.list(
            {
              ...(query.agent !== undefined ? { agent: query.agent } : {}),
              ...(query.subject !== undefined ? { subject: query.subject } : {}),
              ...(query.txn !== undefined ? { txn: query.txn } : {}),
              ...(query.decision !== undefined ? { decision: query.decision } : {}),
              ...range,
            },
            page,
          ),
        auditEventView,
      );
    },
  );
}
