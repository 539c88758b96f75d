/**
 * ADR 0021 against the real database: the lineage store remembers each token's chain start (the
 * partition key of `issued_tokens`, ADR 0015) so that its reads name one partition, walks a
 * token's ancestry by index probes, and never remembers revocation. A second LineageStore over the
 * same database stands for another instance, whose memory is empty. Runs on PostgreSQL and PGlite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LineageStore,
  STANDING,
  STANDING_IN_PARTITION,
  STANDINGS,
} from '../../../src/infra/lineage-store.js';
import type { PreparedSql } from '../../../src/infra/database.js';
import { exchange, exchangeRequest } from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { buildChain, createWorld, type World } from '../introspection-revocation/helpers.js';

let server: TestServer;
let world: World;
/** Another instance: same database, nothing remembered. */
let other: LineageStore;

beforeAll(async () => {
  server = await startTestServer();
  world = await createWorld(server);
  other = new LineageStore(server.database.prisma, server.database);
});

afterAll(async () => {
  await server?.close();
});

async function chainStarts(txn: string): Promise<string[]> {
  const rows = await server.database.query<{ started: string }>(
    `SELECT chain_started_at::text AS started FROM issued_tokens WHERE txn = $1`,
    [txn],
  );
  return rows.map((row) => row.started);
}

/** Every plan node of an EXPLAIN (FORMAT JSON), flattened. */
function planNodes(plan: Record<string, unknown>): Record<string, unknown>[] {
  const children = (plan.Plans as Record<string, unknown>[] | undefined) ?? [];
  return [plan, ...children.flatMap(planNodes)];
}

async function explain(sql: string, params: unknown[]): Promise<Record<string, unknown>[]> {
  const rows = await server.database.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${sql}`, params);
  const raw = rows[0]?.['QUERY PLAN'];
  const document = (typeof raw === 'string' ? JSON.parse(raw) : raw) as { Plan: Record<string, unknown> }[];
  return planNodes(document[0]?.Plan ?? {});
}

describe('lineage by partition', () => {
  it('keeps every token of a chain in its root’s partition, whether or not the instance knows the parent’s start', async () => {
    const chain = await buildChain(server, world);
    const [, hop2Jti] = chain.jtis;
    // The serving instance knew each parent's start; another one looks it up in the statement.
    const now = new Date();
    await other.recordIssuance(
      {
        jti: `${hop2Jti}-elsewhere`,
        parentJti: hop2Jti as string,
        txn: chain.txn,
        depth: 3,
        sub: 'alice',
        clientId: world.c.id,
        chainAgents: [world.a.id, world.b.id, world.c.id],
        aud: world.resource,
        scope: 'read',
        grantType: 'urn:ietf:params:oauth:grant-type:token-exchange',
        impersonation: false,
        subjectIsAgent: false,
        depthLimit: null,
        rootIssuer: world.idp.issuer,
        jkt: null,
        issuedAt: now,
        expiresAt: new Date(now.getTime() + 60_000),
      },
      { decision: 'granted', rule: 'granted', clientId: world.c.id, txn: chain.txn },
    );
    const starts = await chainStarts(chain.txn);
    expect(starts).toHaveLength(4);
    expect(new Set(starts).size).toBe(1);
  });

  it('refuses a chain revoked through another instance on the next request, though this one remembers its start', async () => {
    const chain = await buildChain(server, world);
    const [hop1Jti, , hop3Jti] = chain.jtis as [string, string, string];
    // The serving instance has seen every token of the chain: it knows their starts.
    expect((await server.app.sts.lineage.standing(hop3Jti))?.revoked).toBe(false);
    const revoked = await other.revokeTree([hop1Jti], { clientId: null, description: 'test' });
    expect(revoked).toHaveLength(3);
    expect((await server.app.sts.lineage.standing(hop3Jti))?.revoked).toBe(true);
    const refused = await exchangeRequest(server, world.c, {
      subject_token: chain.hop2,
      resource: world.resource,
    });
    expect(refused.status, refused.text).toBe(400);
    expect(refused.body.error).toBe('invalid_request');
    const rows = await server.database.query<{ count: number }>(
      `SELECT count(*)::int AS count FROM issued_tokens WHERE txn = $1`,
      [chain.txn],
    );
    expect(rows[0]?.count).toBe(3);
  });

  it('walks a token’s ancestry by index probes, never scanning a partition, even before any ANALYZE', async () => {
    const chain = await buildChain(server, world);
    const hop3 = await exchange(server, world.c, { subject_token: chain.hop2, resource: world.resource });
    const jti = hop3.claims.jti as string;
    const [start] = await chainStarts(chain.txn);
    for (const nodes of [
      await explain(STANDING, [jti]),
      await explain(STANDING_IN_PARTITION, [jti, start]),
    ]) {
      const onLineage = nodes.filter((node) =>
        String(node['Relation Name'] ?? '').startsWith('issued_tokens'),
      );
      expect(onLineage.length).toBeGreaterThan(0);
      expect(onLineage.map((node) => node['Node Type'])).not.toContain('Seq Scan');
    }
    // Knowing the start, the plan reaches the chain's own partition alone.
    const known = await explain(STANDING_IN_PARTITION, [jti, start]);
    const partitions = new Set(
      known.map((node) => node['Relation Name']).filter((name) => String(name).startsWith('issued_tokens')),
    );
    expect(partitions.size).toBe(1);
  });

  it('reads concurrent standings in shared statements, each exactly as a read of its own', async () => {
    const live = await buildChain(server, world);
    const revokedChain = await buildChain(server, world);
    await other.revokeTree([revokedChain.jtis[0] as string], { clientId: null, description: 'test' });
    const statements: string[] = [];
    const counted: PreparedSql = {
      prepared: (name, sql, params) => {
        statements.push(name);
        return server.database.prepared(name, sql, params);
      },
    };
    // A fresh instance (no chain start known) whose reads are batched, as on PostgreSQL.
    const batched = new LineageStore(server.database.prisma, counted, { groupCommit: true });
    const wanted = [
      live.jtis[2],
      live.jtis[2],
      revokedChain.jtis[1],
      'no-such-token',
      live.jtis[0],
      revokedChain.jtis[2],
    ] as string[];
    const together = await Promise.all(wanted.map((jti) => batched.standing(jti)));
    const alone = [];
    for (const jti of wanted) alone.push(await other.standing(jti));
    expect(together).toEqual(alone);
    expect(together.map((standing) => standing?.revoked ?? null)).toEqual([
      false,
      false,
      true,
      null,
      false,
      true,
    ]);
    // Two reads leave at once, alone; the four that arrive meanwhile share one statement.
    expect(statements).toEqual(['sts_standing', 'sts_standing', 'sts_standings']);
    // Now the starts are known: the shared statement names each token's partition.
    statements.length = 0;
    await Promise.all(wanted.map((jti) => batched.standing(jti)));
    expect(statements).toEqual(['sts_standing_in_partition', 'sts_standing_in_partition', 'sts_standings']);
  });

  it('walks many ancestries by index probes too', async () => {
    const chain = await buildChain(server, world);
    const [start] = await chainStarts(chain.txn);
    const nodes = await explain(STANDINGS, [chain.jtis, [start, null, start]]);
    const onLineage = nodes.filter((node) => String(node['Relation Name'] ?? '').startsWith('issued_tokens'));
    expect(onLineage.length).toBeGreaterThan(0);
    expect(onLineage.map((node) => node['Node Type'])).not.toContain('Seq Scan');
  });
});
