/**
 * ADR 0015 against the real database and the running service: audit events and lineage live in
 * day partitions that the retention job creates ahead of time and drops whole once past retention,
 * the only way their rows ever leave. Runs on PostgreSQL and on PGlite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retentionPolicy } from '../../../src/app.js';
import { enforceRetention } from '../../../src/infra/retention.js';
import { exchange } from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { adminApi, expectProblem, type AdminApi } from '../admin/admin-client.js';
import { buildChain, createWorld, type World } from '../introspection-revocation/helpers.js';

const DAY_MS = 86_400_000;

let server: TestServer;
let world: World;
let api: AdminApi;

beforeAll(async () => {
  server = await startTestServer();
  world = await createWorld(server);
  api = adminApi(server);
});

afterAll(async () => {
  await server?.close();
});

function dayName(table: string, instant: Date): string {
  return `${table}_p${instant.toISOString().slice(0, 10).replaceAll('-', '')}`;
}

async function partitionsOf(table: string): Promise<string[]> {
  const rows = await server.database.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = $1::regclass ORDER BY c.relname`,
    [table],
  );
  return rows.map((row) => row.name);
}

/** Which partition holds each row of `table` matching `column = value`. */
async function homes(table: string, column: string, value: string): Promise<string[]> {
  const rows = await server.database.query<{ home: string }>(
    `SELECT tableoid::regclass::text AS home FROM ${table} WHERE ${column} = $1`,
    [value],
  );
  return rows.map((row) => row.home);
}

function retention(now: Date) {
  return enforceRetention(server.database, retentionPolicy(server.config), now);
}

describe('day partitions', () => {
  it('exist for today and the week ahead, and every new row lands in its day', async () => {
    const now = new Date();
    for (const table of ['audit_events', 'issued_tokens']) {
      const partitions = await partitionsOf(table);
      expect(partitions).toContain(`${table}_default`);
      for (let ahead = 0; ahead <= 7; ahead += 1) {
        expect(partitions).toContain(dayName(table, new Date(now.getTime() + ahead * DAY_MS)));
      }
    }
    const chain = await buildChain(server, world);
    const today = new Date();
    expect(await homes('issued_tokens', 'txn', chain.txn)).toEqual(
      Array(3).fill(dayName('issued_tokens', today)),
    );
    expect(await homes('audit_events', 'txn', chain.txn)).toEqual(
      Array(3).fill(dayName('audit_events', today)),
    );
  });

  it('keep a whole chain in the partition of the day its root was issued', async () => {
    const chain = await buildChain(server, world);
    const rows = await server.database.query<{
      chain_started_at: Date;
      issued_at: Date;
      parent_jti: string | null;
    }>('SELECT chain_started_at, issued_at, parent_jti FROM issued_tokens WHERE txn = $1', [chain.txn]);
    const root = rows.find((row) => row.parent_jti === null);
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(row.chain_started_at).toEqual(root?.issued_at);
  });
});

describe('the retention job', () => {
  it('creates partitions ahead and drops the day partitions past retention, keeping recent rows', async () => {
    const past = new Date('2021-03-01T12:00:00Z');
    const first = await retention(past);
    expect(first.failures).toEqual([]);
    expect(first.created).toContain('audit_events_p20210301');
    expect(first.created).toContain('issued_tokens_p20210308');

    // Rows of that time, as the service wrote them then.
    await server.database.query(
      `INSERT INTO audit_events (at, decision, rule, txn) VALUES ('2021-03-02T08:00:00Z', 'granted', 'granted', 'old-txn')`,
    );
    await server.database.query(
      `INSERT INTO issued_tokens (jti, txn, depth, sub, client_id, chain_agents, aud, scope, grant_type,
         issued_at, expires_at, chain_started_at)
       VALUES ('old-jti', 'old-txn', 0, 'alice', $1, ARRAY[$1], $2, 'data.read', 'client_credentials',
         '2021-03-02T08:00:00Z', '2021-03-02T08:05:00Z', '2021-03-02T08:00:00Z')`,
      [world.a.id, world.b.id],
    );
    expect(await homes('audit_events', 'txn', 'old-txn')).toEqual(['audit_events_p20210302']);
    expect((await api.get('/admin/chains/old-txn')).status).toBe(200);
    const recent = await buildChain(server, world);

    const round = await retention(new Date());
    expect(round.failures).toEqual([]);
    expect(round.skipped).toBe(false);
    for (const day of ['20210301', '20210302', '20210308']) {
      expect(round.dropped).toContain(`audit_events_p${day}`);
      expect(round.dropped).toContain(`issued_tokens_p${day}`);
    }
    expect((await partitionsOf('audit_events')).filter((name) => name.includes('_p2021'))).toEqual([]);
    expect((await partitionsOf('issued_tokens')).filter((name) => name.includes('_p2021'))).toEqual([]);
    expect(await homes('audit_events', 'txn', 'old-txn')).toEqual([]);
    expect(await homes('issued_tokens', 'txn', 'old-txn')).toEqual([]);

    // Today's rows are untouched, and so is the service.
    expect(await homes('issued_tokens', 'txn', recent.txn)).toHaveLength(3);
    const audit = await api.get(`/admin/audit?txn=${recent.txn}`);
    expect(audit.body.items).toHaveLength(3);
    expect((await api.get(`/admin/chains/${recent.txn}`)).body.tokenCount).toBe(3);
    await exchange(server, world.c, { subject_token: recent.hop2, resource: world.resource });

    // Nothing left to do.
    const again = await retention(new Date());
    expect(again).toMatchObject({ created: [], dropped: [], droppedFromDefault: {}, failures: [] });
  });

  it('lets one of several rounds at once do each step, none failing, while tokens are issued', async () => {
    const at = new Date('2022-06-01T00:00:00Z');
    const [rounds, chain] = await Promise.all([
      Promise.all([retention(at), retention(at), retention(at)]),
      buildChain(server, world),
    ]);
    for (const round of rounds) expect(round.failures).toEqual([]);
    const created = rounds.flatMap((round) => round.created).sort();
    expect(created).toEqual([...new Set(created)]);
    expect(created).toHaveLength(16);
    expect(await homes('issued_tokens', 'txn', chain.txn)).toHaveLength(3);

    // Dropping them, through the job itself (they are long past retention), while tokens are issued.
    const [cleanup, next] = await Promise.all([retention(new Date()), buildChain(server, world)]);
    expect(cleanup.failures).toEqual([]);
    expect(cleanup.dropped).toHaveLength(16);
    expect(await homes('issued_tokens', 'txn', next.txn)).toEqual(
      Array(3).fill(dayName('issued_tokens', new Date())),
    );
  });
});

describe('rows leave only by retention', () => {
  it.each([
    'DELETE FROM audit_events',
    "UPDATE audit_events SET rule = 'granted'",
    'TRUNCATE audit_events',
    'TRUNCATE audit_events_default',
    'DELETE FROM issued_tokens',
    'TRUNCATE issued_tokens',
    'TRUNCATE issued_tokens_default',
  ])('refuses %s', async (statement) => {
    const before = await counts();
    await expect(server.database.query(statement)).rejects.toThrow(/append-only|only by retention/);
    expect(await counts()).toEqual(before);
  });

  it("refuses deletes and TRUNCATE on today's partitions themselves", async () => {
    await buildChain(server, world);
    const before = await counts();
    const today = new Date();
    for (const statement of [
      `DELETE FROM ${dayName('audit_events', today)}`,
      `TRUNCATE ${dayName('audit_events', today)}`,
      `DELETE FROM ${dayName('issued_tokens', today)}`,
      `TRUNCATE ${dayName('issued_tokens', today)}`,
    ]) {
      await expect(server.database.query(statement), statement).rejects.toThrow(
        /append-only|only by retention/,
      );
    }
    expect(await counts()).toEqual(before);
  });
});

async function counts() {
  const [row] = await server.database.query<{ audit: string; lineage: string }>(
    'SELECT (SELECT count(*) FROM audit_events)::text AS audit, (SELECT count(*) FROM issued_tokens)::text AS lineage',
  );
  return row;
}

// Last: it drops today's lineage partition.
describe('a chain past lineage retention', () => {
  it('answers 404 at the chain view, saying why, while its audit events stay', async () => {
    const chain = await buildChain(server, world);
    const later = new Date(Date.now() + (server.config.lineageRetentionGraceDays + 2) * DAY_MS);
    const round = await retention(later);
    expect(round.failures).toEqual([]);
    expect(round.dropped).toContain(dayName('issued_tokens', new Date()));
    expect(round.dropped).not.toContain(dayName('audit_events', new Date()));

    const view = await api.get(`/admin/chains/${chain.txn}`);
    expectProblem(view, 404, 'not_found');
    expect(view.body.detail).toMatch(/lineage retention/);
    expect(view.body.detail).toContain(
      `kept ${server.config.lineageRetentionGraceDays} days after its last token expired`,
    );
    const audit = await api.get(`/admin/audit?txn=${chain.txn}`);
    expect(audit.body.items).toHaveLength(3);
  });

  it('keeps issuing into the DEFAULT partition, which goes whole once all of it is past retention', async () => {
    // Today's lineage partition is gone (the previous test): new chains land in DEFAULT.
    const chain = await buildChain(server, world);
    expect(await homes('issued_tokens', 'txn', chain.txn)).toEqual(Array(3).fill('issued_tokens_default'));
    expect((await api.get(`/admin/chains/${chain.txn}`)).body.tokenCount).toBe(3);

    // While its newest row is within retention, DEFAULT stays.
    const kept = await retention(new Date());
    expect(kept.droppedFromDefault).toEqual({});
    expect(await homes('issued_tokens', 'txn', chain.txn)).toHaveLength(3);

    const later = new Date(Date.now() + (server.config.lineageRetentionGraceDays + 2) * DAY_MS);
    const round = await retention(later);
    expect(round.failures).toEqual([]);
    expect(round.droppedFromDefault.issued_tokens).toBeGreaterThanOrEqual(3);
    expect(await homes('issued_tokens', 'txn', chain.txn)).toEqual([]);
    expect(await partitionsOf('issued_tokens')).toContain('issued_tokens_default');

    // The new DEFAULT is guarded and takes inserts.
    await expect(server.database.query('TRUNCATE issued_tokens_default')).rejects.toThrow(
      /only by retention/,
    );
    const next = await buildChain(server, world);
    expect(await homes('issued_tokens', 'txn', next.txn)).toEqual(Array(3).fill('issued_tokens_default'));
  });
});
