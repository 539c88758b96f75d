/**
 * Read side of the append-only audit log (CONTRACT §4 `GET /admin/audit`): filtered, newest first
 * by (time, id), paged by that pair so that a page boundary never moves while new events are
 * appended. The order is the table's partition key first (ADR 0015), so a page reads one index
 * range in the newest partitions it needs and prunes the rest, whatever the table's size (ADR 0022).
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
  /**
   * Only events after this one in the order (the previous page's last one): older, or as old with
   * a smaller id. Without `at` (a cursor of the earlier id-only form), only events with a smaller id.
   */
  readonly before: { readonly id: bigint; readonly at: Date | null } | null;
  readonly take: number;
}

/** (at, id) < (before.at, before.id), with `at <= before.at` spelled out so partitions prune on it. */
function after(before: AuditPage['before']): Prisma.AuditEventWhereInput {
  if (before === null) return {};
  if (before.at === null) return { id: { lt: before.id } };
  return { at: { lte: before.at }, OR: [{ at: { lt: before.at } }, { id: { lt: before.id } }] };
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

/** How far back the first read of a page goes: a day, the width of a partition (ADR 0015). */
const RECENT_WINDOW_MS = 86_400_000;

export class AuditLog {
  readonly #prisma: PrismaClient;

  constructor(prisma: PrismaClient) {
    this.#prisma = prisma;
  }

  /**
   * A page of events. The day before the page's newest possible event is read first: that is one
   * or two day partitions, whatever the retention, and holds the whole page for any filter that
   * matches a few events a day. Only a page it cannot fill reads every partition (ADR 0022). A
   * chain's events are few: a `txn` query reads everything at once.
   */
  async list(filter: AuditFilter, page: AuditPage): Promise<AuditEvent[]> {
    const newest = page.before?.at ?? filter.to ?? new Date();
    const recent = new Date(newest.getTime() - RECENT_WINDOW_MS);
    if (filter.txn === undefined && (filter.from === undefined || filter.from < recent)) {
      const rows = await this.#find(filter, page, recent);
      if (rows.length >= page.take) return rows;
    }
    return this.#find(filter, page, null);
  }

  /** Events at or after `since` (when given) are all that can precede older ones: the first `take` of them are the page. */
  #find(filter: AuditFilter, page: AuditPage, since: Date | null): Promise<AuditEvent[]> {
    const where: Prisma.AuditEventWhereInput = {
      ...(filter.agent !== undefined ? { clientId: filter.agent } : {}),
      ...(filter.subject !== undefined ? { subject: filter.subject } : {}),
      ...(filter.txn !== undefined ? { txn: filter.txn } : {}),
      ...(filter.decision !== undefined ? { decision: filter.decision } : {}),
      AND: [atBetween(filter), after(page.before), since !== null ? { at: { gte: since } } : {}],
    };
    return this.#prisma.auditEvent.findMany({
      where,
      orderBy: [{ at: 'desc' }, { id: 'desc' }],
      take: page.take,
    });
  }
}
