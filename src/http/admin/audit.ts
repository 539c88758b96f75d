/**
 * GET /admin/audit (CONTRACT §4): the decision log, newest first, filtered by agent (`client_id`),
 * subject, chain (`txn`), decision and a time range; each event names the rule that decided it.
 * Pages are cut by event id, so appending events never shifts a page.
 */
import type { FastifyInstance } from 'fastify';
import { AuditLog } from '../../infra/audit-store.js';
import { ProblemError } from '../problem.js';
import { decodeCursor, encodeCursor } from './common.js';
import { AuditEventView, AuditQuery, DEFAULT_PAGE_SIZE, Page } from './schemas.js';
import { auditEventView } from './views.js';

function instant(value: string | undefined, path: string): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new ProblemError(400, 'validation_failed', 'the querystring does not match the schema', [
      { path, message: 'not a valid date-time' },
    ]);
  }
  return date;
}

function eventCursor(cursor: string | undefined): bigint | null {
  if (cursor === undefined) return null;
  const id = decodeCursor(cursor);
  if (!/^[1-9][0-9]{0,18}$/.test(id)) {
    throw new ProblemError(400, 'invalid_cursor', 'cursor is not one this API returned');
  }
  return BigInt(id);
}

export async function auditRoutes(app: FastifyInstance) {
  const log = new AuditLog(app.sts.database.prisma);

  app.get<{ Querystring: AuditQuery }>(
    '/audit',
    {
      schema: {
        summary: 'List audit events',
        description:
          'Every token decision and revocation, newest first. Filters: agent (client_id), subject, txn, decision (granted or denied), from and to (RFC 3339, inclusive). Paged with limit (1-200, default 50) and the opaque cursor of the previous page.',
        querystring: AuditQuery,
        response: { 200: Page(AuditEventView) },
      },
    },
    async (request) => {
      const query = request.query;
      const from = instant(query.from, '/from');
      const to = instant(query.to, '/to');
      const limit = query.limit ?? DEFAULT_PAGE_SIZE;
      const rows = await log.list(
        {
          ...(query.agent !== undefined ? { agent: query.agent } : {}),
          ...(query.subject !== undefined ? { subject: query.subject } : {}),
          ...(query.txn !== undefined ? { txn: query.txn } : {}),
          ...(query.decision !== undefined ? { decision: query.decision } : {}),
          ...(from !== undefined ? { from } : {}),
          ...(to !== undefined ? { to } : {}),
        },
        { before: eventCursor(query.cursor), take: limit + 1 },
      );
      const items = rows.slice(0, limit);
      const last = items.at(-1);
      return {
        items: items.map(auditEventView),
        nextCursor: rows.length > limit && last ? encodeCursor(last.id.toString()) : null,
      };
    },
  );
}
