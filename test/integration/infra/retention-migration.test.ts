/**
 * The migration to day partitions (ADR 0015) on a database that already holds rows: applied on top
 * of the previous migration, it keeps every row as it was, ids and sequence included.
 */
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIRECTORY } from '../../../src/app.js';
import { openDatabase, type Database } from '../../../src/infra/database.js';
import { migrate } from '../../../src/infra/migrate.js';

const RETENTION_MIGRATION = '20261129060000_retention_partitions';

describe('the migration to day partitions', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'agent-sts-partitions-'));
  const previous = mkdtempSync(path.join(tmpdir(), 'agent-sts-migrations-'));
  let database: Database;

  beforeAll(async () => {
    database = await openDatabase({ databaseUrl: process.env.DATABASE_URL ?? null, dataDir });
    await database.executeScript('DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;');
    cpSync(MIGRATIONS_DIRECTORY, previous, { recursive: true });
    rmSync(path.join(previous, RETENTION_MIGRATION), { recursive: true });
  });

  afterAll(async () => {
    await database.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(previous, { recursive: true, force: true });
  });

  it('keeps every audit event, lineage row and admin event', async () => {
    const before = readdirSync(previous).sort();
    expect(before).not.toContain(RETENTION_MIGRATION);
    expect(await migrate(database, previous)).toEqual(before);

    await database.executeScript(`
      INSERT INTO audit_events (at, decision, rule, client_id, subject, audience, jti, txn, description) VALUES
        ('2025-11-02T10:00:00Z', 'granted', 'granted', 'agent-a', 'alice', 'agent-b', 'j1', 't1', 'first'),
        ('2026-11-27T23:59:59.999Z', 'denied', 'subject_token_revoked', 'agent-b', 'alice', NULL, NULL, 't1', NULL),
        ('2026-11-28T00:00:00Z', 'granted', 'token_revoked', NULL, 'bob', 'agent-c', 'j3', 't2', 'by an admin');
      INSERT INTO issued_tokens (jti, parent_jti, txn, depth, sub, client_id, chain_agents, aud, scope, grant_type,
          impersonation, subject_is_agent, depth_limit, root_issuer, jkt, issued_at, expires_at, revoked_at) VALUES
        ('j1', NULL, 't1', 1, 'alice', 'agent-a', ARRAY['agent-a'], 'agent-b', 'data.read', 'token-exchange',
          false, false, 3, 'https://idp.example', NULL, '2026-11-27T23:50:00Z', '2026-11-28T00:40:00Z', NULL),
        ('j2', 'j1', 't1', 2, 'alice', 'agent-b', ARRAY['agent-a','agent-b'], 'agent-c', 'data.read',
          'token-exchange', false, false, 3, 'https://idp.example', 'thumb', '2026-11-28T00:10:00Z',
          '2026-11-28T00:40:00Z', '2026-11-28T00:20:00Z'),
        ('j3', NULL, 't2', 0, 'agent-c', 'agent-c', ARRAY['agent-c'], 'https://api.example/', 'data.read',
          'client_credentials', false, true, NULL, NULL, NULL, '2026-11-28T09:00:00Z', '2026-11-28T09:05:00Z', NULL);
      INSERT INTO admin_events (actor_kind, action, target_type, target_id, changes, request_id)
        VALUES ('admin_token', 'agent.created', 'agent', 'agent-a', '{"name": {"after": "A"}}', 'req-1');
    `);
    const audit = () => database.query<Record<string, unknown>>('SELECT * FROM audit_events ORDER BY id');
    const lineage = () =>
      database.query<Record<string, unknown>>(
        `SELECT jti, parent_jti, txn, depth, sub, client_id, chain_agents, aud, scope, grant_type, impersonation,
           subject_is_agent, depth_limit, root_issuer, jkt, issued_at, expires_at, revoked_at
         FROM issued_tokens ORDER BY jti`,
      );
    const adminEvents = () =>
      database.query<Record<string, unknown>>('SELECT * FROM admin_events ORDER BY id');
    const [auditBefore, lineageBefore, adminBefore] = [await audit(), await lineage(), await adminEvents()];
    expect(auditBefore).toHaveLength(3);
    expect(lineageBefore).toHaveLength(3);

    expect(await migrate(database, MIGRATIONS_DIRECTORY)).toEqual([RETENTION_MIGRATION]);

    expect(await audit()).toEqual(auditBefore);
    expect(await lineage()).toEqual(lineageBefore);
    expect(await adminEvents()).toEqual(adminBefore);

    // Each row sits in its day's partition, the chain in its root's day.
    const auditHomes = await database.query<{ id: string; home: string }>(
      'SELECT id::text, tableoid::regclass::text AS home FROM audit_events ORDER BY id',
    );
    expect(auditHomes.map((row) => row.home)).toEqual([
      'audit_events_p20251102',
      'audit_events_p20261127',
      'audit_events_p20261128',
    ]);
    const lineageHomes = await database.query<{ jti: string; home: string; chain_started_at: Date }>(
      'SELECT jti, tableoid::regclass::text AS home, chain_started_at FROM issued_tokens ORDER BY jti',
    );
    expect(lineageHomes.map((row) => [row.jti, row.home, row.chain_started_at.toISOString()])).toEqual([
      ['j1', 'issued_tokens_p20261127', '2026-11-27T23:50:00.000Z'],
      ['j2', 'issued_tokens_p20261127', '2026-11-27T23:50:00.000Z'],
      ['j3', 'issued_tokens_p20261128', '2026-11-28T09:00:00.000Z'],
    ]);

    // The id sequence carries on after the copied rows, and the log stays append-only.
    const [inserted] = await database.query<{ id: string }>(
      "INSERT INTO audit_events (decision, rule) VALUES ('denied', 'invalid_parameters') RETURNING id::text",
    );
    expect(BigInt(inserted?.id ?? '0')).toBeGreaterThan(BigInt(String(auditBefore.at(-1)?.id)));
    await expect(database.query('DELETE FROM audit_events')).rejects.toThrow(/append-only/);
    await expect(database.query('DELETE FROM issued_tokens')).rejects.toThrow(/only by retention/);
    await expect(database.query('TRUNCATE audit_events_p20251102')).rejects.toThrow(/append-only/);
  });
});
