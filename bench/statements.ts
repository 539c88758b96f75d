/**
 * The deterministic side of the benchmark: SQL statements the server sends to PostgreSQL per
 * request, by scenario (bench/servers.ts sts, counted in the pg driver by bench/count-pg.ts).
 * Requests are sent one at a time unless STATEMENTS_CONCURRENCY says otherwise; the registry cache refills at most once per TTL, so a run of
 * N requests in well under a second counts what a request costs when the cache is warm.
 *
 * It also reports the CPU time the server process and PostgreSQL's backends spent per request (their /proc counters, in
 * ticks of 10 ms, so use a few thousand requests).
 *
 *   DATABASE_URL=postgresql://… npx tsx bench/statements.ts [requests per scenario, default 200]
 *   STATEMENTS_CONCURRENCY=50 …     the same with 50 requests in flight (group commit shows here)
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { createInterface } from 'node:readline';
import type { Form } from './servers.js';

if (!process.env.DATABASE_URL) throw new Error('statements.ts counts pg statements: set DATABASE_URL');
const N = Number(process.argv[2] ?? '200');
/** Requests in flight at once (STATEMENTS_CONCURRENCY; 1 by default). */
const CONCURRENCY = Number(process.env.STATEMENTS_CONCURRENCY ?? '1');
const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--import', './bench/count-pg.ts', 'bench/servers.ts', 'sts'],
  { stdio: ['ignore', 'pipe', 'pipe'], env: process.env },
);
const stderrLines = createInterface({ input: child.stderr });
const waiting: ((line: string) => void)[] = [];
stderrLines.on('line', (line) => {
  if (line.startsWith('STATEMENTS ')) waiting.shift()?.(line.slice('STATEMENTS '.length));
  else process.stderr.write(line + '\n');
});
const snapshot = () =>
  new Promise<Record<string, number>>((resolve) => {
    waiting.push((line) => resolve(JSON.parse(line) as Record<string, number>));
    child.kill('SIGUSR2');
  });
const info = await new Promise<{ baseUrl: string; forms: Record<string, Form> }>((resolve) =>
  createInterface({ input: child.stdout }).once('line', (line) => resolve(JSON.parse(line))),
);
// PostgreSQL's own CPU per request: utime + stime of the backends serving this database (Linux
// /proc, same machine), which the load on other cores does not inflate as wall time would.
const monitor = new pg.Client({ connectionString: process.env.DATABASE_URL });
await monitor.connect();
const backendCpuSeconds = async (): Promise<number> => {
  const { rows } = await monitor.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
  );
  let total = 0;
  for (const { pid } of rows) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      // the backend has gone
    }
  }
  return total;
};
/** The server process's own CPU seconds (utime + stime). */
const serverCpuSeconds = (): number => {
  const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
};
try {
  for (const scenario of ['cc', 'hop1', 'hop2', 'depth4']) {
    const body = new URLSearchParams(info.forms[scenario]).toString();
    const send = async () => {
      const response = await fetch(`${info.baseUrl}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      if (response.status !== 200)
        throw new Error(`${scenario}: ${response.status} ${await response.text()}`);
      await response.arrayBuffer();
    };
    for (let i = 0; i < 20; i += 1) await send(); // warm the caches
    await snapshot();
    const cpuBefore = await backendCpuSeconds();
    const serverBefore = serverCpuSeconds();
    let sent = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (sent < N) {
          sent += 1;
          await send();
        }
      }),
    );
    const server = serverCpuSeconds() - serverBefore;
    const cpu = (await backendCpuSeconds()) - cpuBefore;
    const counts = await snapshot();
    const total = Object.values(counts).reduce((sum, count) => sum + count, 0);
    console.log(
      `${scenario}: ${(total / N).toFixed(2)} statements per request, ` +
        `${((cpu / N) * 1e3).toFixed(3)} ms of PostgreSQL CPU, ${((server / N) * 1e3).toFixed(3)} ms of server CPU`,
    );
    for (const [text, count] of Object.entries(counts).sort((a, b) => b[1] - a[1])) {
      console.log(`  ${(count / N).toFixed(2)}  ${text}`);
    }
  }
} finally {
  await monitor.end();
  child.kill('SIGINT');
}
