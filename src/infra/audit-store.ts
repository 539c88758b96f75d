/**
 * Read side of the append-only audit log (CONTRACT §4 `GET /admin/audit`): filtered, newest first,
 * paged by id so that a page boundary never moves while new events are appended.
 */
import type { PrismaClient } from './database.js';
import type { AuditEvent, Prisma } from './generated/prisma/client.js';

export type { AuditEvent };

export interface AuditFilter {
  /** The event's `client_id`. */
  readonly agent?: string;
  readonly subject?: string;
  readonly txn?: string;
  readonly decision?: 'granted' | 'denied';
  /** Inclusive bounds on the event time. */
  readonly from?: Date;
  readonly to?: Date;
}

export interface AuditPage {
  /** Only events older than this id (the previous page's last one). */
  readonly before: bigint | null;
  readonly take: number;
}

/** A Prisma condition on the `at` column of a log table: inclusive bounds, either optional. */
export function atBetween(range: { readonly from?: Date; readonly to?: Date }) {
  if (range.from === undefined && range.to === undefined) return {};
  return {
    at: {
      ...(range.from !== undefined ? { gte: range.from } : {}),
      ...(range.to !== undefined ? { lte: range.to } : {}),
    },
  };
}

export class AuditLog {
  readonly #prisma: PrismaClient;

  constructor(prisma: PrismaClient) {
    this.#prisma = prisma;
  }

  list(filter: AuditFilter, page: AuditPage): Promise<AuditEvent[]> {
    const where: Prisma.AuditEventWhereInput = {
      ...(filter.agent !== undefined ? { clientId: filter.agent } : {}),
      ...(filter.subject !== undefined ? { subject: filter.subject } : {}),
      ...(filter.txn !== undefined ? { txn: filter.txn } : {}),
      ...(filter.decision !== undefined ? { decision: filter.decision } : {}),
      ...atBetween(filter),
      ...(page.before !== null ? { id: { lt: page.before } } : {}),
    };
    return this.#prisma.auditEvent.findMany({ where, orderBy: { id: 'desc' }, take: page.take });
  }
}
