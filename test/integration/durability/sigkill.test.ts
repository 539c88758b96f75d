/**
 * Issue #6, crash durability: the real server in a child process is SIGKILLed while agents get
 * and exchange tokens concurrently. Every token a client received must have its lineage row and
 * its audit row, nothing may be half-written, and the server restarted on the same database
 * carries on, exchanging a token received before the crash. Runs on PostgreSQL (DATABASE_URL)
 * and on the embedded PGlite in a DATA_DIR; the database is read directly after the kill.
 *
 * What a kill can reveal: a write split across statements or transactions (tried: the lineage row
 * and the audit row as two statements left lineage rows without audit rows here), or commits lost
 * on restart. It cannot reveal an answer sent before its write: PostgreSQL finishes a statement
 * that reached it even when the client process dies. The connection-cut test catches that one.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../../src/infra/database.js';
import {
  childServerEnv,
  prepareChildDatabase,
  startChildServer,
  STARTUP_TIMEOUT_MS,
  type ChildServer,
} from '../../helpers/child-server.js';
import { GRANT_TOKEN_EXCHANGE } from '../../helpers/oauth.js';
import {
  createWorld,
  durabilityViolations,
  hopToken,
  ownToken,
  received,
  startLoad,
  UNLIMITED,
  type ReceivedToken,
  type World,
} from './helpers.js';

const CONCURRENCY = 24;

describe('SIGKILL under concurrent load', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'agent-sts-sigkill-'));
  let env: Record<string, string>;
  let server: ChildServer | null = null;
  let world: World;
  let beforeCrash: ReceivedToken[] = [];

  /** The database the child used, opened by the test itself (PGlite only while no child runs). */
  async function inspect<T>(read: (database: Database) => Promise<T>): Promise<T> {
    const database = await openDatabase({ databaseUrl: env.DATABASE_URL ?? null, dataDir });
    try {
      return await read(database);
    } finally {
      await database.close();
    }
  }

  beforeAll(async () => {
    env = await childServerEnv(dataDir, UNLIMITED);
    await prepareChildDatabase(env);
    server = await startChildServer(env);
    world = await createWorld(server);
  }, STARTUP_TIMEOUT_MS + 10_000);

  afterAll(async () => {
    await server?.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('leaves every token a client received with its lineage and audit rows, nothing half-written', async () => {
    const running = server as ChildServer;
    const load = startLoad(running, world, { concurrency: CONCURRENCY, endOnNetworkError: true });
    // A random moment, well into the load.
    await load.receivedAtLeast(100 + randomInt(200), 40_000);
    const inFlight = load.inFlight();
    await running.kill();
    server = null;
    await load.done;

    expect(inFlight, 'requests were in flight when the server was killed').toBeGreaterThan(0);
    expect(
      load.refusals.map((response) => `${response.status} ${response.text}`),
      'before the kill every request was answered with a token',
    ).toEqual([]);
    // Every worker was still looping when the kill cut it off.
    expect(load.networkErrors).toHaveLength(CONCURRENCY);
    beforeCrash = load.received;

    const violations = await inspect((database) => durabilityViolations(database, beforeCrash));
    expect(violations).toEqual([]);
  }, 60_000);

  it('the check fails a token answered without its rows, or a row without its twin', async () => {
    const [own] = beforeCrash.filter((token) => token.parentJti === null);
    const [hop] = beforeCrash.filter((token) => token.grantType === GRANT_TOKEN_EXCHANGE);
    if (!own || !hop) throw new Error('the load received no tokens of both kinds');
    const jti = randomUUID();
    await inspect(async (database) => {
      // A token with no rows at all, and one whose rows say another scope than the token.
      const unrecorded = { ...own, claims: { ...own.claims, jti } };
      const widened = { ...hop, claims: { ...hop.claims, scope: 'read write' } };
      const found = await durabilityViolations(database, [unrecorded, widened]);
      expect(found).toEqual([
        `${jti}: 0 lineage rows`,
        `${jti}: 0 granted audit rows`,
        `${String(hop.claims.jti)}: lineage scope is read, the token says read write`,
        `${String(hop.claims.jti)}: granted audit scope is read, the token says read write`,
      ]);

      // Half-written issuances, in a transaction that is rolled back.
      await database.withSession(async (session) => {
        await session.executeScript('BEGIN');
        try {
          await session.query(
            `INSERT INTO issued_tokens (jti, txn, depth, sub, client_id, chain_agents, aud, scope, grant_type,
               issued_at, expires_at, chain_started_at)
             SELECT $1, txn, depth, sub, client_id, chain_agents, aud, scope, grant_type, issued_at, expires_at,
               chain_started_at
             FROM issued_tokens WHERE jti = $2`,
            [jti, String(own.claims.jti)],
          );
          const orphan = randomUUID();
          await session.query(
            `INSERT INTO audit_events (decision, rule, grant_type, client_id, jti) VALUES ('granted', 'granted', $1, $2, $3)`,
            ['client_credentials', world.a.id, orphan],
          );
          expect(await durabilityViolations(session, [])).toEqual(
            expect.arrayContaining([
              `${jti}: lineage row without a granted audit row`,
              `${orphan}: granted audit row without a lineage row`,
            ]),
          );
        } finally {
          await session.executeScript('ROLLBACK');
        }
      });
      expect(await durabilityViolations(database, beforeCrash)).toEqual([]);
    });
  }, 60_000);

  it(
    'restarts on the same database and carries on, exchanging a token received before the crash',
    async () => {
      const restarted = await startChildServer(env);
      server = restarted;
      const [last] = beforeCrash.filter((token) => token.parentJti === null).slice(-1);
      if (!last) throw new Error('no own token was received before the crash');

      const hop = received(
        await hopToken(restarted, world, last.token),
        GRANT_TOKEN_EXCHANGE,
        String(last.claims.jti),
      );
      expect(hop?.claims.txn, 'the hop continues the chain begun before the crash').toBe(last.claims.txn);
      const own = received(await ownToken(restarted, world), 'client_credentials', null);
      expect(own).not.toBeNull();

      const load = startLoad(restarted, world, { concurrency: 8, endOnNetworkError: false });
      await load.receivedAtLeast(40, 30_000);
      await load.stop();
      expect(load.refusals.map((response) => `${response.status} ${response.text}`)).toEqual([]);
      expect(load.networkErrors).toEqual([]);

      // Stopped gracefully before PGlite is opened by the test: it is a single-process database.
      expect(await restarted.stop()).toBe(0);
      server = null;
      const after = [...beforeCrash, hop as ReceivedToken, own as ReceivedToken, ...load.received];
      expect(await inspect((database) => durabilityViolations(database, after))).toEqual([]);
    },
    STARTUP_TIMEOUT_MS + 40_000,
  );
});
