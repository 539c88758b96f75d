/**
 * Cost growth (issue #7 item 2), every comparison a ratio measured in the same run, in rounds that
 * alternate which side goes first:
 *
 *   tokens   token-endpoint throughput (client_credentials and a hop-1 exchange, bench/run.ts's
 *            load: 50 connections) with 10 agents registered against 100,000 (the other 99,995
 *            seeded through SQL), in 12 short alternating rounds after a warm-up of each side.
 *            Target: the large registry costs ≤ 1.1× the small one, i.e. req/s ratio ≥ 0.91.
 *   admin    latency of the chain view (GET /admin/chains/{txn} of a depth-4 chain) and of
 *            GET /admin/audit under each filter it supports, first page and a page 1,000 events
 *            deep (by its cursor), on 10,000,000 audit events against 10,000 (bench/seed.ts: the
 *            same 30 days of partitions, agents and subjects drawn the same way). Sequential
 *            requests, median latency per side and round. Target: ≤ 1.2× the small table.
 *
 * Each side runs in its own server process pinned to core 1 (bench/harness.ts), each on its own
 * database named after DATABASE_URL's (`<name>_tokens_small`, `<name>_audit_10000000`, …). The
 * audit databases are seeded once and reused while their seed matches (BENCH_RESEED=1 seeds again);
 * the token databases are emptied by each run.
 *
 *   DATABASE_URL=postgresql://… npm run bench:growth             the measurement
 *   BENCH_QUICK=1 DATABASE_URL=postgresql://… npm run bench:growth   1,000,000 events, short rounds
 *   BENCH_ONLY=tokens|admin                                       one half only
 *   BENCH_DROP=1                                                  drops the databases afterwards
 */
import { cpus, loadavg } from 'node:os';
import pg from 'pg';
import {
  errorSamples,
  load,
  MAX_REQUESTS,
  median,
  QUICK,
  sanityCheck,
  startServer,
  stop,
  type Server,
} from './harness.js';
import { createDatabase, databaseUrl, seedDatabase, type SeedSizes } from './seed.js';
import type { Form } from './servers.js';

const base = process.env.DATABASE_URL;
if (!base)
  throw new Error('bench:growth seeds PostgreSQL: set DATABASE_URL (its own databases are made next to it)');
const baseName = new URL(base).pathname.slice(1);
const ONLY = process.env.BENCH_ONLY;
const AGENTS = { small: 10, large: 100_000 } as const;
/** The bench's own five agents (bench/servers.ts) come on top of the seeded ones. */
const BENCH_AGENTS = 5;
const AUDIT: Record<'small' | 'large', SeedSizes> = {
  small: { agents: 100_000, auditRows: 10_000, days: 30 },
  large: { agents: 100_000, auditRows: QUICK ? 1_000_000 : 10_000_000, days: 30 },
};
/**
 * The machine is shared: both sides of a ratio should meet the same neighbours, so the token half
 * alternates many short measurements rather than a few long ones.
 */
const TOKEN_ROUNDS = QUICK ? 4 : 12;
const TOKEN_SECONDS = QUICK ? 1 : 2;
const TOKEN_WARMUP_SECONDS = 0.3;
const REQUESTS_PER_QUERY = QUICK ? 7 : 21;
/** Admin latencies are a few milliseconds against a noisy machine: more, shorter rounds than the token half. */
const ADMIN_ROUNDS = QUICK ? 4 : 10;
const DEEP_ROWS = 1_000;
type Side = 'small' | 'large';
const SIDES: readonly Side[] = ['small', 'large'];

const loadAverage = () =>
  loadavg()
    .map((value) => value.toFixed(1))
    .join(' ');

let missed = 0;
function target(label: string, value: number, comparison: '≥' | '≤', bound: number, note = ''): void {
  const met = comparison === '≥' ? value >= bound : value <= bound;
  if (!met) missed += 1;
  console.log(
    `${label.padEnd(52)} ${value.toFixed(2).padStart(6)}  target ${comparison} ${bound}  ${met ? 'met' : 'MISSED'}${note}`,
  );
}

/** Both sides once per round, the first side alternating; the ratio large/small per round, then its median. */
async function alternate<T>(rounds: number, measure: (side: Side, round: number) => Promise<T>) {
  const results: Record<Side, T[]> = { small: [], large: [] };
  for (let round = 0; round < rounds; round += 1) {
    for (const side of round % 2 ? [...SIDES].reverse() : SIDES)
      results[side].push(await measure(side, round));
  }
  return results;
}

async function tokens(): Promise<void> {
  const servers: Partial<Record<Side, Server>> = {};
  try {
    for (const side of SIDES) {
      const name = `${baseName}_tokens_${side}`;
      await createDatabase(base as string, name);
      servers[side] = await startServer('sts', {
        DATABASE_URL: databaseUrl(base as string, name),
        BENCH_EXTRA_AGENTS: String(AGENTS[side] - BENCH_AGENTS),
      });
    }
    const server = (side: Side) => servers[side] as Server;
    for (const side of SIDES) await sanityCheck(server(side), ['cc', 'hop1']);
    console.log(
      `\ntokens: ${AGENTS.small} vs ${AGENTS.large} agents registered, each on its own PostgreSQL database; ` +
        `${TOKEN_ROUNDS} rounds of ${TOKEN_SECONDS} s, small and large alternating first`,
    );
    for (const scenario of ['cc', 'hop1'] as const) {
      // A fresh server is slow for a few seconds (JIT, pools): warm both before the first round.
      for (const side of SIDES) {
        const { child, pool, forms } = server(side);
        await load(child.pid, pool, forms[scenario] as Form, scenario, 3 * TOKEN_SECONDS, MAX_REQUESTS);
      }
      const results = await alternate(TOKEN_ROUNDS, async (side) => {
        const { child, pool, forms } = server(side);
        const form = forms[scenario] as Form;
        await load(child.pid, pool, form, scenario, TOKEN_WARMUP_SECONDS, MAX_REQUESTS);
        return load(child.pid, pool, form, scenario, TOKEN_SECONDS, MAX_REQUESTS);
      });
      const perRound = results.small.map((small, round) => [
        small.perSecond,
        results.large[round]?.perSecond ?? NaN,
      ]);
      console.log(
        `${scenario} req/s per round (small/large): ${perRound.map(([s, l]) => `${s?.toFixed(0)}/${l?.toFixed(0)}`).join(', ')}`,
      );
      const ratio = median(perRound.map(([small, large]) => (large as number) / (small as number)));
      const errors = [...results.small, ...results.large].reduce((sum, m) => sum + m.errors, 0);
      target(
        `${scenario}: req/s with ${AGENTS.large} agents / with ${AGENTS.small}`,
        ratio,
        '≥',
        0.91,
        errors ? `  (${errors} errors)` : '',
      );
    }
    for (const [sample, count] of errorSamples) console.log(`  ${count}× ${sample}`);
  } finally {
    for (const side of SIDES) if (servers[side]) await stop(servers[side]);
  }
}

/** One admin query: its path, relative to the server's own data, found by `probe`. */
interface Query {
  readonly label: string;
  readonly path: (probe: Probe) => string;
  /** Also measure the page DEEP_ROWS events in. */
  readonly deep: boolean;
}

interface Probe {
  readonly txn: string;
  /**
   * An agent and a subject with about 100 events on this side (bench/seed.ts draws rank k with
   * probability ~ 1 / (k ln n)): a full page on both sides, so both answer the same amount.
   */
  readonly tailAgent: string;
  readonly tailSubject: string;
  /** Six hours in the middle of the seeded span (≥ one page on the small side), and the last day and week. */
  readonly windowFrom: string;
  readonly windowTo: string;
  readonly lastDay: string;
  readonly lastWeek: string;
}

const q = (value: string) => encodeURIComponent(value);
const QUERIES: readonly Query[] = [
  { label: 'chain view (depth-4 chain)', path: (p) => `/admin/chains/${p.txn}`, deep: false },
  { label: 'audit, no filter', path: () => '/admin/audit?limit=50', deep: true },
  { label: 'audit, hot agent (~9 %)', path: () => '/admin/audit?limit=50&agent=agent-1', deep: true },
  {
    label: 'audit, agent with ~100 events',
    path: (p) => `/admin/audit?limit=50&agent=${p.tailAgent}`,
    deep: false,
  },
  { label: 'audit, hot subject', path: () => '/admin/audit?limit=50&subject=user-1', deep: true },
  {
    label: 'audit, subject with ~100 events',
    path: (p) => `/admin/audit?limit=50&subject=${p.tailSubject}`,
    deep: false,
  },
  { label: 'audit, txn', path: (p) => `/admin/audit?limit=50&txn=${p.txn}`, deep: false },
  { label: 'audit, decision=denied', path: () => '/admin/audit?limit=50&decision=denied', deep: true },
  {
    label: 'audit, six hours (from, to)',
    path: (p) => `/admin/audit?limit=50&from=${q(p.windowFrom)}&to=${q(p.windowTo)}`,
    deep: true,
  },
  { label: 'audit, last day (from)', path: (p) => `/admin/audit?limit=50&from=${q(p.lastDay)}`, deep: true },
  {
    label: 'audit, hot agent + denied + last week',
    path: (p) => `/admin/audit?limit=50&agent=agent-1&decision=denied&from=${q(p.lastWeek)}`,
    deep: true,
  },
];

async function get(server: Server, path: string): Promise<{ ms: number; body: Record<string, unknown> }> {
  const started = performance.now();
  const response = await server.pool.request({
    path,
    method: 'GET',
    headers: { authorization: `Bearer ${server.adminToken}` },
  });
  const text = await response.body.text();
  const ms = performance.now() - started;
  if (response.statusCode !== 200) throw new Error(`${path}: ${response.statusCode} ${text.slice(0, 200)}`);
  return { ms, body: JSON.parse(text) as Record<string, unknown> };
}

/** The cursor DEEP_ROWS events into `path`'s results (or as deep as they go), and how deep that is. */
async function deepCursor(server: Server, path: string): Promise<{ cursor: string | null; depth: number }> {
  let cursor: string | null = null;
  let depth = 0;
  while (depth < DEEP_ROWS) {
    const page = await get(
      server,
      `${path.replace('limit=50', 'limit=200')}${cursor ? `&cursor=${cursor}` : ''}`,
    );
    const next = page.body.nextCursor as string | null;
    if (next === null) break;
    depth += (page.body.items as unknown[]).length;
    cursor = next;
  }
  return { cursor, depth };
}

async function seeded(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const rows = await client.query<{ seed: string | null }>(
      "SELECT obj_description(to_regclass('public.audit_events'), 'pg_class') AS seed",
    );
    return rows.rows[0]?.seed ?? null;
  } finally {
    await client.end();
  }
}

/** The rank drawn about `events` times among `rows` draws of 1..n (log-uniform, bench/seed.ts). */
const rankWith = (events: number, rows: number, n: number) =>
  Math.max(1, Math.round(rows / (events * Math.log(n + 1))));

async function probe(url: string, sizes: SeedSizes): Promise<Probe> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // The newest depth-4 chain's txn: a seq scan that stops at the first match, newest partition first.
    const chain = await client.query<{ txn: string }>(
      'SELECT txn FROM issued_tokens WHERE depth = 4 AND revoked_at IS NULL ORDER BY chain_started_at DESC LIMIT 1',
    );
    const span = await client.query<{ low: Date; high: Date }>(
      'SELECT min(at) AS low, max(at) AS high FROM audit_events',
    );
    const { low, high } = span.rows[0] as { low: Date; high: Date };
    const middle = new Date((low.getTime() + high.getTime()) / 2);
    // Subjects: users drawn once per chain, in about 0.8 of the events.
    const users = Math.max(1_000, sizes.agents * 10);
    return {
      txn: (chain.rows[0] as { txn: string }).txn,
      tailAgent: `agent-${rankWith(100, sizes.auditRows, sizes.agents)}`,
      tailSubject: `user-${rankWith(100, sizes.auditRows * 0.8, users)}`,
      windowFrom: middle.toISOString(),
      windowTo: new Date(middle.getTime() + 6 * 3_600_000).toISOString(),
      lastDay: new Date(high.getTime() - 86_400_000).toISOString(),
      lastWeek: new Date(high.getTime() - 7 * 86_400_000).toISOString(),
    };
  } finally {
    await client.end();
  }
}

async function admin(): Promise<void> {
  const servers: Partial<Record<Side, Server>> = {};
  const probes: Partial<Record<Side, Probe>> = {};
  try {
    for (const side of SIDES) {
      const sizes = AUDIT[side];
      const name = `${baseName}_audit_${sizes.auditRows}`;
      const url = databaseUrl(base as string, name);
      const mark = `bench seed: ${sizes.agents} agents, ${sizes.auditRows} events, ${sizes.days} days`;
      await createDatabase(base as string, name);
      if (process.env.BENCH_RESEED || (await seeded(url)) !== mark) {
        console.log(`seeding ${name} (${mark})`);
        await seedDatabase(url, sizes, (line) => console.log(`  ${line}`));
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        await client.query(`COMMENT ON TABLE audit_events IS '${mark}'`);
        await client.end();
      }
      probes[side] = await probe(url, sizes);
      servers[side] = await startServer('admin', { DATABASE_URL: url }, 1);
    }
    const server = (side: Side) => servers[side] as Server;
    const probeOf = (side: Side) => probes[side] as Probe;
    console.log(
      `\nadmin: ${AUDIT.small.auditRows} vs ${AUDIT.large.auditRows} audit events over ${AUDIT.large.days} days of ` +
        `partitions; median of ${REQUESTS_PER_QUERY} sequential requests per side, ${ADMIN_ROUNDS} rounds alternating`,
    );
    for (const query of QUERIES) {
      const pages: { label: string; paths: Record<Side, string>; note: string }[] = [];
      const first = { small: query.path(probeOf('small')), large: query.path(probeOf('large')) };
      pages.push({ label: query.label, paths: first, note: '' });
      if (query.deep) {
        const deep = {
          small: await deepCursor(server('small'), first.small),
          large: await deepCursor(server('large'), first.large),
        };
        if (deep.small.cursor && deep.large.cursor) {
          pages.push({
            label: `  … ${deep.large.depth} deep`,
            paths: {
              small: `${first.small}&cursor=${deep.small.cursor}`,
              large: `${first.large}&cursor=${deep.large.cursor}`,
            },
            note: deep.small.depth < deep.large.depth ? ` (small: ${deep.small.depth} deep)` : '',
          });
        }
      }
      for (const page of pages) {
        const results = await alternate(ADMIN_ROUNDS, async (side) => {
          for (let warm = 0; warm < 2; warm += 1) await get(server(side), page.paths[side]);
          const times: number[] = [];
          for (let i = 0; i < REQUESTS_PER_QUERY; i += 1)
            times.push((await get(server(side), page.paths[side])).ms);
          return median(times);
        });
        const ratio = median(results.large.map((large, round) => large / (results.small[round] as number)));
        const ms = `${median(results.small).toFixed(2)} → ${median(results.large).toFixed(2)} ms`;
        target(page.label, ratio, '≤', 1.2, `  ${ms}${page.note}`);
      }
    }
  } finally {
    for (const side of SIDES) if (servers[side]) await stop(servers[side]);
  }
  if (process.env.BENCH_DROP) {
    for (const side of SIDES) await dropDatabase(`${baseName}_audit_${AUDIT[side].auditRows}`);
  }
}

async function dropDatabase(name: string): Promise<void> {
  const client = new pg.Client({ connectionString: base });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name}`);
  } finally {
    await client.end();
  }
}

console.log(
  `growth bench${QUICK ? ' (BENCH_QUICK)' : ''}: servers pinned to core 1, load on core 0; ` +
    `load average before: ${loadAverage()} (${cpus().length} cores)`,
);
if (ONLY !== 'admin') await tokens();
if (ONLY !== 'tokens') await admin();
if (process.env.BENCH_DROP) for (const side of SIDES) await dropDatabase(`${baseName}_tokens_${side}`);
console.log(`\nload average after: ${loadAverage()}`);
console.log(missed ? `${missed} target(s) missed` : 'all targets met');
