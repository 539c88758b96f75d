/**
 * Seeds a PostgreSQL database of agent-sts straight through SQL (INSERT … SELECT generate_series,
 * never over HTTP) for the growth benchmark (bench/growth.ts, issue #7 item 2):
 *
 *   agents      `agents` registered agents `agent-1` … with the registry's shapes: a valid secret
 *               digest (of `secret-agent-N`), 1–3 allowed scopes, 1–3 allowed audiences (other
 *               agents and resources), both grant types; one resource per 100 agents.
 *   audit       `auditRows` audit events spread evenly over the last `days` days, each day in its
 *               own partition (ADR 0015), ids rising with time. Events come four slots to a chain:
 *               a chain of depth 1–4 (40/30/20/10 %) fills its first slots with granted exchange
 *               hops (same txn, parent → child jtis); the remaining slots are client_credentials
 *               grants (own txn) or refusals (nine rule codes). Agents and subjects are drawn
 *               log-uniformly (agent-1 acts in ~9 % of events, agent-1000 in ~0.01 %), so each
 *               admin filter is as selective as in production: a few hot agents, a long tail.
 *   lineage     an issued_tokens row for every granted event of the last `lineageDays` days (the
 *               window lineage retention keeps), chain_started_at = the chain's first hop; 2 % of
 *               chains revoked.
 *
 * The draws are hashes of the row number (hashint8extended), so the same sizes give the same data.
 *
 *   npx tsx bench/seed.ts <database> [agents] [auditRows] [days]
 *     creates the database on the server of DATABASE_URL when missing, empties its public
 *     schema, migrates it and seeds it (defaults: 100000 agents, 10000000 rows, 30 days).
 */
import pg from 'pg';

export interface SeedSizes {
  readonly agents: number;
  readonly auditRows: number;
  readonly days: number;
  /** Days of lineage kept (LINEAGE_RETENTION_GRACE_DAYS plus the token lifetime); 7 by default. */
  readonly lineageDays?: number;
}

/** Runs one statement; the seeding client has no statement timeout. */
export type Execute = (sql: string) => Promise<unknown>;

const int = (value: number, what: string): number => {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${what} must be a non-negative integer`);
  return value;
};

/** A uniform draw in [0, 1) from (x, seed), and the helpers the generators share (session-local). */
const HELPERS = `
CREATE OR REPLACE FUNCTION pg_temp.u(x bigint, seed bigint) RETURNS float8 LANGUAGE sql IMMUTABLE AS
  $$ SELECT (hashint8extended(x, seed) & 1073741823)::float8 / 1073741824 $$;
-- Log-uniform in 1..n: rank k is drawn with probability ~ 1 / (k ln n).
CREATE OR REPLACE FUNCTION pg_temp.rank(x bigint, seed bigint, n bigint) RETURNS bigint LANGUAGE sql IMMUTABLE AS
  $$ SELECT least(n, floor(exp(pg_temp.u(x, seed) * ln(n + 1)))::bigint) $$;
CREATE OR REPLACE FUNCTION pg_temp.uuid(label text, x bigint) RETURNS text LANGUAGE sql IMMUTABLE AS
  $$ SELECT md5(label || x::text)::uuid::text $$;
CREATE OR REPLACE FUNCTION pg_temp.digest(secret text) RETURNS text LANGUAGE sql IMMUTABLE AS
  $$ SELECT 'sha256:' || translate(rtrim(encode(sha256(convert_to(secret, 'UTF8')), 'base64'), '='), '+/', '-_') $$;
`;

/** `count` agents `<prefix>1` … and one resource per 100 of them; secret of agent N: `secret-<prefix>N`. */
export async function seedAgents(execute: Execute, count: number, prefix = 'agent-'): Promise<void> {
  const n = int(count, 'agents');
  if (!/^[a-z-]+$/.test(prefix)) throw new Error('agent id prefix: lowercase letters and dashes');
  const resources = Math.max(1, Math.ceil(n / 100));
  await execute(HELPERS);
  await execute(`
    INSERT INTO resources (id, name, scopes, updated_at)
    SELECT 'https://api-' || r || '.${prefix}example', 'API ' || r, ARRAY['read', 'write', 'calendar.read'], now()
      FROM generate_series(1, ${resources}) AS r
    ON CONFLICT (id) DO NOTHING`);
  if (n === 0) return;
  await execute(`
    INSERT INTO agents (id, name, owner, token_endpoint_auth_method, secret_hash, allowed_scopes,
        allowed_audiences, grant_types, max_delegation_depth, token_ttl_seconds, updated_at)
    SELECT '${prefix}' || i, 'Agent ' || i, 'team-' || (i % 97),
        CASE WHEN i % 2 = 0 THEN 'client_secret_basic' ELSE 'client_secret_post' END,
        pg_temp.digest('secret-${prefix}' || i),
        (ARRAY['read', 'write', 'calendar.read'])[1:1 + (i % 3)::int],
        ARRAY['${prefix}' || (1 + (i * 7919) % ${n}), 'https://api-' || (1 + i % ${resources}) || '.${prefix}example']
          || CASE WHEN i % 3 = 0 THEN ARRAY['${prefix}' || (1 + (i * 104729) % ${n})] ELSE ARRAY[]::text[] END,
        ARRAY['client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange'],
        4, 300, now()
      FROM generate_series(1::bigint, ${n}) AS i`);
}

/**
 * The audit events and lineage described at the top, after creating the day partitions they go
 * to. Rows are inserted a chunk at a time so progress shows; `progress` hears each chunk.
 */
export async function seedLogs(
  execute: Execute,
  sizes: SeedSizes,
  progress: (done: number) => void = () => {},
): Promise<void> {
  const rows = int(sizes.auditRows, 'auditRows');
  const days = int(sizes.days, 'days');
  const lineageDays = int(sizes.lineageDays ?? 7, 'lineageDays');
  const agents = Math.max(1, int(sizes.agents, 'agents'));
  const resources = Math.max(1, Math.ceil(agents / 100));
  const users = Math.max(1_000, agents * 10);
  await execute(HELPERS);
  // The span ends at the start of this run, so every row is in the past; each row's time is fixed.
  await execute(`
    CREATE TEMPORARY TABLE IF NOT EXISTS seed_span AS
      SELECT now() - interval '${days} days' AS start, interval '${days} days' AS span`);
  await execute(`
    SELECT sts_ensure_day_partition(parent, day::date, interval '1 minute')
      FROM (VALUES ('audit_events'), ('issued_tokens')) AS tables (parent),
           generate_series((now() - interval '${days + 1} days')::date, now()::date, interval '1 day') AS day
     ORDER BY day`);
  // One row of the generator per event slot g: chain c = (g - 1) / 4, slot s = (g - 1) % 4.
  const events = (low: number, high: number) => `
    WITH slots AS (
      SELECT g, (g - 1) / 4 AS c, (g - 1) % 4 AS s,
             (SELECT start FROM seed_span) + (SELECT span FROM seed_span) * (g::float8 / ${rows}) AS at
        FROM generate_series(${low}, ${high}) AS g
    ), shaped AS (
      SELECT slots.*,
             CASE WHEN pg_temp.u(c, 1) < 0.4 THEN 1 WHEN pg_temp.u(c, 1) < 0.7 THEN 2
                  WHEN pg_temp.u(c, 1) < 0.9 THEN 3 ELSE 4 END AS d,
             pg_temp.u(g, 3) AS other
        FROM slots
    )
    SELECT g, c, s, at, s < d AS hop, d,
           CASE WHEN s < d OR other < 0.35 THEN 'granted' ELSE 'denied' END AS decision,
           CASE WHEN s < d OR other < 0.35 THEN 'granted'
                ELSE (ARRAY['client_authentication_failed', 'scope_escalation', 'target_not_allowed',
                  'subject_token_invalid', 'delegation_too_deep', 'subject_token_revoked', 'rate_limited',
                  'target_not_registered', 'chain_agent_inactive'])[1 + floor(pg_temp.u(g, 4) * 9)::int] END AS rule,
           CASE WHEN s >= d AND other < 0.35 THEN 'client_credentials'
                ELSE 'urn:ietf:params:oauth:grant-type:token-exchange' END AS grant_type,
           'agent-' || pg_temp.rank(c * 4 + s, 11, ${agents}) AS client_id,
           CASE WHEN s >= d AND other < 0.35 THEN 'agent-' || pg_temp.rank(c * 4 + s, 11, ${agents})
                ELSE 'user-' || pg_temp.rank(c, 2, ${users}) END AS subject,
           CASE WHEN s + 1 < d THEN 'agent-' || pg_temp.rank(c * 4 + s + 1, 11, ${agents})
                ELSE 'https://api-' || (1 + c % ${resources}) || '.agent-example' END AS audience,
           CASE WHEN s < d THEN pg_temp.uuid('txn', c)
                WHEN other < 0.35 THEN pg_temp.uuid('cc', g)
                WHEN other < 0.7 THEN pg_temp.uuid('txn', c) END AS txn,
           CASE WHEN s < d OR other < 0.35 THEN pg_temp.uuid('jti', g) END AS jti,
           CASE WHEN s < d AND s > 0 THEN pg_temp.uuid('jti', g - 1) END AS parent_jti
      FROM shaped`;
  const chunk = 1_000_000;
  for (let low = 1; low <= rows; low += chunk) {
    const high = Math.min(rows, low + chunk - 1);
    await execute(`
      INSERT INTO audit_events (id, at, decision, rule, grant_type, client_id, subject, audience,
          requested_scope, granted_scope, jti, parent_jti, txn, description)
      SELECT g, at, decision, rule, grant_type, client_id, subject, audience, 'read',
             CASE WHEN decision = 'granted' THEN 'read' END, jti, parent_jti, txn,
             CASE WHEN decision = 'denied' THEN 'refused: ' || rule END
        FROM (${events(low, high)}) AS e`);
    await execute(`
      INSERT INTO issued_tokens (jti, parent_jti, txn, depth, sub, client_id, chain_agents, aud, scope,
          grant_type, subject_is_agent, issued_at, expires_at, revoked_at, chain_started_at)
      SELECT jti, parent_jti, txn, CASE WHEN hop THEN s + 1 ELSE 0 END, subject, client_id,
             CASE WHEN hop THEN ARRAY(SELECT 'agent-' || pg_temp.rank(c * 4 + k, 11, ${agents})
                                        FROM generate_series(0, s) AS k ORDER BY k)
                  ELSE ARRAY[client_id] END,
             audience, 'read', grant_type, NOT hop, at, at + interval '5 minutes',
             CASE WHEN pg_temp.u(c, 5) < 0.02 THEN at + interval '1 minute' END,
             CASE WHEN hop THEN (SELECT start FROM seed_span) + (SELECT span FROM seed_span) * ((g - s)::float8 / ${rows})
                  ELSE at END
        FROM (${events(low, high)}) AS e
       WHERE decision = 'granted' AND at >= now() - interval '${lineageDays} days'`);
    progress(high);
  }
  await execute(`SELECT setval('audit_events_id_seq', greatest(${rows}, 1))`);
  await execute('ANALYZE agents, resources, audit_events, issued_tokens');
}

/** A connection string for `database` on the server of `base` (DATABASE_URL). */
export function databaseUrl(base: string, database: string): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Creates `database` on the server of `base` when it does not exist. */
export async function createDatabase(base: string, database: string): Promise<void> {
  if (!/^[a-z0-9_]+$/.test(database)) throw new Error('database names here: a-z, 0-9, _');
  const client = new pg.Client({ connectionString: base });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${database}`);
  } finally {
    await client.end();
  }
}

/** Empties, migrates and seeds `url` (its public schema is dropped first). */
export async function seedDatabase(
  url: string,
  sizes: SeedSizes,
  log: (line: string) => void,
): Promise<void> {
  const { openDatabase } = await import('../src/infra/database.js');
  const { migrate } = await import('../src/infra/migrate.js');
  const { MIGRATIONS_DIRECTORY } = await import('../src/app.js');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;');
    const database = await openDatabase({ databaseUrl: url, dataDir: '.', poolSize: 2 });
    try {
      await migrate(database, MIGRATIONS_DIRECTORY);
    } finally {
      await database.prisma.$disconnect();
    }
    // Bulk load: nothing here needs to survive a crash of the server mid-seed.
    await client.query('SET synchronous_commit = off');
    const execute: Execute = (sql) => client.query(sql);
    const started = performance.now();
    const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;
    await seedAgents(execute, sizes.agents);
    log(`${sizes.agents} agents (${elapsed()})`);
    await seedLogs(execute, sizes, (done) => log(`${done} / ${sizes.auditRows} audit events (${elapsed()})`));
    const counts = await client.query<{ audit: string; lineage: string }>(
      'SELECT (SELECT count(*) FROM audit_events) AS audit, (SELECT count(*) FROM issued_tokens) AS lineage',
    );
    log(
      `seeded: ${counts.rows[0]?.audit} audit events, ${counts.rows[0]?.lineage} lineage rows (${elapsed()})`,
    );
  } finally {
    await client.end();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const base = process.env.DATABASE_URL;
  const [name, agents, auditRows, days] = process.argv.slice(2);
  if (!base || !name)
    throw new Error('usage: DATABASE_URL=postgresql://… tsx bench/seed.ts <database> [agents] [rows] [days]');
  await createDatabase(base, name);
  await seedDatabase(
    databaseUrl(base, name),
    {
      agents: Number(agents ?? 100_000),
      auditRows: Number(auditRows ?? 10_000_000),
      days: Number(days ?? 30),
    },
    (line) => console.log(line),
  );
}
