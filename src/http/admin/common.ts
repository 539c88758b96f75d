/**
 * What the admin route modules share: the plugin options, the caller as admin events name it,
 * paging with opaque cursors (by id for the registry, newest first for the logs), time filters,
 * the 404, and the mapping of registry conflicts to problem documents.
 */
import type { FastifyRequest } from 'fastify';
import type { AdminChange } from '../../infra/admin-events.js';
import type { RegistryAdminStore, RegistryConflict } from '../../infra/admin-store.js';
import { ProblemError } from '../problem.js';
import { DEFAULT_PAGE_SIZE } from './schemas.js';
import type { ValidationContext } from './validation.js';

export interface AdminRouteOptions {
  readonly store: RegistryAdminStore;
  readonly context: ValidationContext;
}

/** A cursor is the last id of the previous page, base64url-encoded so that clients treat it as opaque. */
export function encodeCursor(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (id === '' || encodeCursor(id) !== cursor) {
    throw new ProblemError(400, 'invalid_cursor', 'cursor is not one this API returned');
  }
  return id;
}

/**
 * One page of rows ordered by id: asks for one row more than the limit to learn whether another
 * page follows, without counting.
 */
export async function listPage<Row extends { id: string }, View>(
  query: { limit?: number; cursor?: string },
  load: (page: { after: string | null; take: number }) => Promise<Row[]>,
  view: (row: Row) => View,
): Promise<{ items: View[]; nextCursor: string | null }> {
  const limit = query.limit ?? DEFAULT_PAGE_SIZE;
  const rows = await load({ after: query.cursor ? decodeCursor(query.cursor) : null, take: limit + 1 });
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items: items.map(view), nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null };
}

/** A log cursor is the last event id of the previous page. */
function eventCursor(cursor: string | undefined): bigint | null {
  if (cursor === undefined) return null;
  const id = decodeCursor(cursor);
  if (!/^[1-9][0-9]{0,18}$/.test(id)) {
    throw new ProblemError(400, 'invalid_cursor', 'cursor is not one this API returned');
  }
  return BigInt(id);
}

/**
 * One page of a log, newest first: asks for one row more than the limit, and names the last row
 * it shows (`positionOf`) in the cursor of the next page.
 */
async function newestFirstPage<Row, Position, View>(
  query: { limit?: number },
  before: Position | null,
  load: (page: { before: Position | null; take: number }) => Promise<Row[]>,
  view: (row: Row) => View,
  positionOf: (row: Row) => string,
): Promise<{ items: View[]; nextCursor: string | null }> {
  const limit = query.limit ?? DEFAULT_PAGE_SIZE;
  const rows = await load({ before, take: limit + 1 });
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return {
    items: items.map(view),
    nextCursor: rows.length > limit && last !== undefined ? encodeCursor(positionOf(last)) : null,
  };
}

/** One page of a log, newest first, cut by event id so that appended events never shift a page. */
export function eventPage<Row extends { id: bigint }, View>(
  query: { limit?: number; cursor?: string },
  load: (page: { before: bigint | null; take: number }) => Promise<Row[]>,
  view: (row: Row) => View,
): Promise<{ items: View[]; nextCursor: string | null }> {
  return newestFirstPage(query, eventCursor(query.cursor), load, view, (row) => row.id.toString());
}

/**
 * Where a page of the audit log ends: the time and id of its last event. The log is partitioned by
 * time (ADR 0015) and read newest first by (time, id) (ADR 0022), so a page starts with an index
 * descent in the partition that holds its cursor. `at` is null for a cursor of the earlier id-only
 * form, still honoured.
 */
export interface TimelinePosition {
  readonly id: bigint;
  readonly at: Date | null;
}

const TIMELINE_CURSOR = /^(?<id>[1-9][0-9]{0,18})(?:\.(?<at>0|[1-9][0-9]{0,14}))?$/;

function timelineCursor(cursor: string | undefined): TimelinePosition | null {
  if (cursor === undefined) return null;
  const match = TIMELINE_CURSOR.exec(decodeCursor(cursor));
  const at = match?.groups?.at === undefined ? null : new Date(Number(match.groups.at));
  if (!match?.groups?.id || (at !== null && Number.isNaN(at.getTime()))) {
    throw new ProblemError(400, 'invalid_cursor', 'cursor is not one this API returned');
  }
  return { id: BigInt(match.groups.id), at };
}

/** One page of the audit log, newest first by (time, id); the cursor names the last event's both. */
export function timelinePage<Row extends { id: bigint; at: Date }, View>(
  query: { limit?: number; cursor?: string },
  load: (page: { before: TimelinePosition | null; take: number }) => Promise<Row[]>,
  view: (row: Row) => View,
): Promise<{ items: View[]; nextCursor: string | null }> {
  const positionOf = (row: Row) => `${row.id}.${row.at.getTime()}`;
  return newestFirstPage(query, timelineCursor(query.cursor), load, view, positionOf);
}

/** True when the calendar date exists: JavaScript would roll `2026-02-30` over to March 2. */
function isRealCalendarDate(value: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(value);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const probe = new Date(Date.UTC(year, month - 1, day));
  return probe.getUTCFullYear() === year && probe.getUTCMonth() === month - 1 && probe.getUTCDate() === day;
}

function instant(value: string | undefined, path: string): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime()) || !isRealCalendarDate(value)) {
    throw new ProblemError(400, 'validation_failed', 'the querystring does not match the schema', [
      { path, message: 'not a valid date-time' },
    ]);
  }
  return date;
}

/**
 * `from` and `to` of a log query as instants, present only when given. The schema checks the
 * RFC 3339 shape; this refuses what has the shape but is no instant (`2026-13-01T…`,
 * `2026-02-30T…`).
 */
export function timeRange(query: { from?: string; to?: string }): { from?: Date; to?: Date } {
  const from = instant(query.from, '/from');
  const to = instant(query.to, '/to');
  return { ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) };
}

/** The authenticated caller of an admin write and its request, as the admin event records them. */
export function changedBy(request: FastifyRequest): AdminChange {
  const admin = request.admin;
  // The onRequest hook authenticates every admin request before a handler runs.
  if (!admin) throw new Error('admin request without an authenticated caller');
  return {
    actor:
      admin.kind === 'admin_token'
        ? { kind: 'admin_token' }
        : { kind: 'access_token', agent: admin.clientId, jti: admin.jti },
    requestId: request.id,
  };
}

export function notFound(kind: string, id: string): ProblemError {
  return new ProblemError(404, 'not_found', `no ${kind} "${id}"`);
}

/** The row, or a 404 problem. Deleted agents are not found (CONTRACT §4). */
export function found<Row>(row: Row | null, kind: string, id: string): Row {
  if (row === null) throw notFound(kind, id);
  return row;
}

/** Registry conflicts as problem documents: a taken id or issuer is 409, a registered audience 400. */
export function conflictProblem(error: RegistryConflict): ProblemError {
  if (error.code === 'audience_is_agent' || error.code === 'audience_is_resource') {
    return new ProblemError(400, error.code, error.message, [{ path: '/audiences', message: error.message }]);
  }
  return new ProblemError(409, 'conflict', error.message);
}
