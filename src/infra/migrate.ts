/**
 * Applies prisma/migrations/<timestamp>_<name>/migration.sql in order, once each, recording them in
 * Prisma's own `_prisma_migrations` table so that `prisma migrate deploy` elsewhere sees the same
 * history (DESIGN.md: the Prisma migration engine cannot be downloaded on these machines).
 */
import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Database, SqlSession } from './database.js';

/** Serialises concurrent start-ups of several instances against one database. */
const MIGRATION_LOCK_ID = 72_210_867;

const CREATE_HISTORY_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum" VARCHAR(64) NOT NULL,
  "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL,
  "logs" TEXT,
  "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

export interface Migration {
  readonly name: string;
  readonly sql: string;
  readonly checksum: string;
}

export async function readMigrations(directory: string): Promise<Migration[]> {
  const entries = await readdir(directory, { withFileTypes: true });
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(path.join(directory, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

/** Returns the names of the migrations it applied. */
export async function migrate(database: Database, directory: string): Promise<string[]> {
  const migrations = await readMigrations(directory);
  // The advisory lock belongs to a connection, so the whole run stays on one.
  return database.withSession(async (session) => {
    await session.executeScript(CREATE_HISTORY_TABLE);
    await session.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    try {
      return await applyPending(session, migrations);
    } finally {
      await session.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]);
    }
  });
}

async function applyPending(session: SqlSession, migrations: readonly Migration[]): Promise<string[]> {
  const rows = await session.query<{ migration_name: string; checksum: string; finished_at: Date | null }>(
    'SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL',
  );
  const applied = new Map(rows.map((row) => [row.migration_name, row]));
  const appliedNow: string[] = [];
  for (const migration of migrations) {
    const previous = applied.get(migration.name);
    if (previous) {
      if (!previous.finished_at)
        throw new Error(`migration ${migration.name} failed earlier; resolve it by hand`);
      // Landed migrations are never edited (STYLE.md); a changed file means a broken deployment.
      if (previous.checksum !== migration.checksum) {
        throw new Error(`migration ${migration.name} was edited after it was applied`);
      }
      continue;
    }
    const id = randomUUID();
    await session.query(
      'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at) VALUES ($1, $2, $3, now())',
      [id, migration.checksum, migration.name],
    );
    try {
      await session.executeScript(`BEGIN;\n${migration.sql}\nCOMMIT;`);
    } catch (error) {
      await session.executeScript('ROLLBACK').catch(() => {});
      // Recorded as failed, as Prisma does: start-up stops until someone resolves it.
      await session.query('UPDATE "_prisma_migrations" SET logs = $2 WHERE id = $1', [
        id,
        error instanceof Error ? error.message : String(error),
      ]);
      throw error;
    }
    await session.query(
      'UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1',
      [id],
    );
    appliedNow.push(migration.name);
  }
  return appliedNow;
}
