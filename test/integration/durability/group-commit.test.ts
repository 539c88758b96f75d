/**
 * Group commit (ADR 0021), on PostgreSQL: grants that arrive while the lineage statements in
 * flight wait for their commit leave together in one statement, and each answer leaves only after
 * its batch commits. A batch is held back by a real lock (a session holding audit_events in SHARE
 * mode), never by timing; a batch fails through a real PostgreSQL error raised by a trigger.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ISSUANCE_BATCHES_IN_FLIGHT } from '../../../src/infra/lineage-store.js';
import { registerAgent, registerResource } from '../../helpers/fixtures.js';
import { decodeJwt, requestToken, type TestAgent, type TokenResponse } from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

const databaseUrl = process.env.DATABASE_URL;
const RESOURCE = 'https://group-commit.example/api';

let server: TestServer;
let steady: TestAgent;
let poisoned: TestAgent;

beforeAll(async () => {
  if (!databaseUrl) return;
  server = await startTestServer();
  await registerResource(server, { id: RESOURCE, scopes: ['read'] });
  const agent = async (id: string) =>
    (await registerAgent(server, {
      id,
      tokenEndpointAuthMethod: 'client_secret_post',
      allowedScopes: ['read'],
      allowedAudiences: [RESOURCE],
    })) as TestAgent;
  steady = await agent('gc-steady');
  poisoned = await agent('gc-poisoned');
});

afterAll(async () => {
  await server?.close();
});

const token = (agent: TestAgent) =>
  requestToken(server, agent, { grant_type: 'client_credentials', resource: RESOURCE });

/** Polls a condition of the database or the store, without any fixed wait deciding the outcome. */
async function until(what: string, condition: () => Promise<boolean> | boolean): Promise<void> {
  for (let attempt = 0; attempt < 1_000; attempt += 1) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`gave up waiting until ${what}`);
}

/**
 * Holds audit_events in SHARE mode (inserts wait), sends `first` requests, which fill the
 * statements in flight and wait on the lock, then `rest`, which wait in the store for the next
 * batch; releases the lock and returns every answer.
 */
async function withHeldBatch(
  first: readonly TestAgent[],
  rest: readonly TestAgent[],
): Promise<{ first: TokenResponse[]; rest: TokenResponse[] }> {
  const locker = new pg.Client({ connectionString: databaseUrl });
  await locker.connect();
  try {
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE audit_events IN SHARE MODE');
    const firstAnswers = Promise.all(first.map(token));
    await until('the first statements wait on the lock', async () => {
      // Another session: inside the locker's transaction pg_stat_activity stays one snapshot.
      const rows = await server.database.query<{ waiting: number }>(
        `SELECT count(*)::int AS waiting FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO issued_tokens%'`,
      );
      return rows[0]?.waiting === first.length;
    });
    const restAnswers = Promise.all(rest.map(token));
    await until(
      'the rest wait for the next batch',
      () => server.app.sts.lineage.waitingIssuances === rest.length,
    );
    await locker.query('COMMIT');
    return { first: await firstAnswers, rest: await restAnswers };
  } finally {
    await locker.end();
  }
}

async function lineage(jti: string): Promise<{ tokens: number; audits: number }> {
  const [row] = await server.database.query<{ tokens: number; audits: number }>(
    `SELECT (SELECT count(*)::int FROM issued_tokens WHERE jti = $1) AS tokens,
            (SELECT count(*)::int FROM audit_events WHERE jti = $1 AND decision = 'granted') AS audits`,
    [jti],
  );
  return row ?? { tokens: 0, audits: 0 };
}

describe.skipIf(!databaseUrl)('group commit', () => {
  it('answers every grant of a shared batch with a token whose lineage and audit rows are committed', async () => {
    const first = Array.from({ length: ISSUANCE_BATCHES_IN_FLIGHT }, () => steady);
    const rest = Array.from({ length: 12 }, () => steady);
    const answers = await withHeldBatch(first, rest);
    for (const response of [...answers.first, ...answers.rest]) {
      expect(response.status, response.text).toBe(200);
      const accessToken = response.body.access_token as string;
      const jti = decodeJwt(accessToken).jti as string;
      expect(await lineage(jti)).toEqual({ tokens: 1, audits: 1 });
      // The batch statement records each token's own digest too (ADR 0028).
      const [row] = await server.database.query<{ token_digest: Uint8Array }>(
        'SELECT token_digest FROM issued_tokens WHERE jti = $1',
        [jti],
      );
      expect(row && Buffer.from(row.token_digest)).toEqual(createHash('sha256').update(accessToken).digest());
    }
  });

  it('answers every grant of a batch whose statement fails with the server error, and issues none of them', async () => {
    await server.database.executeScript(`
      CREATE FUNCTION gc_poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.client_id = 'gc-poisoned' AND NEW.decision = 'granted' THEN
          RAISE EXCEPTION 'poisoned grant';
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER gc_poison BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION gc_poison();`);
    try {
      const before = await server.database.query<{ count: number }>(
        'SELECT count(*)::int AS count FROM issued_tokens',
      );
      const first = Array.from({ length: ISSUANCE_BATCHES_IN_FLIGHT }, () => steady);
      // One poisoned grant among steady ones: the whole batch fails together.
      const rest = [steady, steady, poisoned, steady, steady];
      const answers = await withHeldBatch(first, rest);
      for (const response of answers.first) expect(response.status, response.text).toBe(200);
      for (const response of answers.rest) {
        expect(response.status, response.text).toBe(503);
        expect(response.body.error).toBe('temporarily_unavailable');
        expect(response.body.access_token).toBeUndefined();
      }
      const after = await server.database.query<{ count: number }>(
        'SELECT count(*)::int AS count FROM issued_tokens',
      );
      expect((after[0]?.count ?? 0) - (before[0]?.count ?? 0)).toBe(first.length);
    } finally {
      await server.database.executeScript(
        'DROP TRIGGER gc_poison ON audit_events; DROP FUNCTION gc_poison();',
      );
    }
    // The next grant, alone, is recorded as ever.
    const next = await token(steady);
    expect(next.status, next.text).toBe(200);
  });
});
