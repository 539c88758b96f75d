/**
 * The migration runner against the real database: applies once, records Prisma's history with
 * Prisma's checksum, is idempotent, and refuses to start on a migration edited after it landed.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, writeFileSync, readdirSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIRECTORY } from '../../../src/app.js';
import { openDatabase, type Database } from '../../../src/infra/database.js';
import { migrate } from '../../../src/infra/migrate.js';

describe('migration runner', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'agent-sts-migrate-'));
  let database: Database;

  beforeAll(async () => {
    database = await openDatabase({ databaseUrl: process.env.DATABASE_URL ?? null, dataDir });
    await database.executeScript('DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;');
  });

  afterAll(async () => {
    await database.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('applies every migration once and records it as Prisma does', async () => {
    const names = readdirSync(MIGRATIONS_DIRECTORY).sort();
    expect(await migrate(database, MIGRATIONS_DIRECTORY)).toEqual(names);
    expect(await migrate(database, MIGRATIONS_DIRECTORY)).toEqual([]);
    const rows = await database.query<{ migration_name: string; checksum: string; finished_at: Date | null }>(
      'SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" ORDER BY migration_name',
    );
    expect(rows.map((row) => row.migration_name)).toEqual(names);
    for (const row of rows) {
      expect(row.finished_at).not.toBeNull();
      const sql = await import('node:fs/promises').then((fs) =>
        fs.readFile(path.join(MIGRATIONS_DIRECTORY, row.migration_name, 'migration.sql')),
      );
      expect(row.checksum).toBe(createHash('sha256').update(sql).digest('hex'));
    }
  });

  it('refuses to run when a landed migration was edited', async () => {
    const edited = mkdtempSync(path.join(tmpdir(), 'agent-sts-migrations-'));
    try {
      cpSync(MIGRATIONS_DIRECTORY, edited, { recursive: true });
      const first = readdirSync(edited).sort()[0] as string;
      appendFileSync(path.join(edited, first, 'migration.sql'), '\n-- edited\n');
      await expect(migrate(database, edited)).rejects.toThrow(/edited after it was applied/);
    } finally {
      rmSync(edited, { recursive: true, force: true });
    }
  });

  it('keeps the audit log append-only in the database itself', async () => {
    await database.query("INSERT INTO audit_events (decision, rule) VALUES ('denied', 'invalid_parameters')");
    await expect(database.query('DELETE FROM audit_events')).rejects.toThrow(/append-only/);
    await expect(database.query("UPDATE audit_events SET rule = 'granted'")).rejects.toThrow(/append-only/);
  });

  it('rolls back a failing migration and records nothing for it', async () => {
    const broken = mkdtempSync(path.join(tmpdir(), 'agent-sts-migrations-'));
    try {
      cpSync(MIGRATIONS_DIRECTORY, broken, { recursive: true });
      const name = '99990101000000_broken';
      await import('node:fs/promises').then((fs) => fs.mkdir(path.join(broken, name)));
      writeFileSync(
        path.join(broken, name, 'migration.sql'),
        'CREATE TABLE half_done (id int);\nSELECT nonsense;',
      );
      await expect(migrate(database, broken)).rejects.toThrow();
      const tables = await database.query(
        "SELECT 1 FROM information_schema.tables WHERE table_name = 'half_done'",
      );
      expect(tables).toHaveLength(0);
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  });
});
