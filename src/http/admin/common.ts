/**
 * What the admin route modules share: the plugin options, paging with opaque cursors, the 404,
 * and the mapping of registry conflicts to problem documents.
 */
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

export function notFound(kind: string, id: string): ProblemError {
  return new ProblemError(404, 'not_found', `no ${kind} "${id}"`);
}

/** The row, or a 404 problem. Deleted agents are not found (CONTRACT §4). */
export function found<Row>(row: Row | null, kind: string, id: string): Row {
  if (row === null) throw notFound(kind, id);
  return row;
}

/** Registry conflicts as problem documents: a taken id or issuer is 409, an agent as audience 400. */
export function conflictProblem(error: RegistryConflict): ProblemError {
  if (error.code === 'audience_is_agent') {
    return new ProblemError(400, 'audience_is_agent', error.message, [
      { path: '/audiences', message: error.message },
    ]);
  }
  return new ProblemError(409, 'conflict', error.message);
}
