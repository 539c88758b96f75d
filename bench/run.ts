/**
 * Token-endpoint throughput of agent-sts against two baselines measured in the same run (these
 * machines are noisy, so only ratios mean something): a bare oidc-provider `client_credentials`
 * server (the peer) and the crypto ceiling (ES256 verify + sign per second on the server core).
 * Every server runs in its own process pinned to core 1; this process, the load generator, is
 * pinned to core 0. Each round measures every scenario once, in a rotating order; the report gives
 * medians over the rounds and the ratios, per round then median, against the targets of issue #7.
 *
 *   DATABASE_URL=postgresql://… npm run bench     agent-sts on PostgreSQL (the measurement)
 *   npm run bench                                 agent-sts on the embedded PGlite
 *   BENCH_QUICK=1 npm run bench                   small counts, two short rounds (development)
 *   BENCH_PROFILE=1 npm run bench                 also writes a CPU profile of agent-sts to .bench/
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { Pool } from 'undici';
import type { Form } from './servers.js';

const QUICK = Boolean(process.env.BENCH_QUICK);
const CONNECTIONS = 50;
const ROUNDS = QUICK ? 2 : 3;
const SECONDS = QUICK ? 1 : 5;
const MAX_REQUESTS = QUICK ? 3_000 : 60_000;
const WARMUP_SECONDS = QUICK ? 0.3 : 1;
const SERVER_CORE = '1';
const LOAD_CORE = '0';

type Scenario = 'peer' | 'ceiling' | 'cc' | 'hop1' | 'hop2' | 'depth4';
const SCENARIOS: readonly Scenario[] = ['peer', 'ceiling', 'cc', 'hop1', 'hop2', 'depth4'];
const LABELS: Record<Scenario, string> = {
  peer: 'peer: oidc-provider client_credentials',
  ceiling: 'ceiling: jose ES256 verify + sign',
  cc: 'agent-sts client_credentials',
  hop1: 'agent-sts exchange, hop 1 (IdP subject)',
  hop2: 'agent-sts exchange, hop 2 (own subject)',
  depth4: 'agent-sts exchange, depth 4',
};
const EXCHANGES = ['hop1', 'hop2', 'depth4'] as const;
const STS = ['cc', ...EXCHANGES] as const;

interface Measurement {
  readonly perSecond: number;
  /** Milliseconds; NaN for the ceiling, which is not HTTP. */
  readonly p50: number;
  readonly p99: number;
  readonly requests: number;
  readonly errors: number;
  /** CPU time / wall time of the server process and of this load generator, in %. */
  readonly serverCpu: number;
  readonly loadCpu: number;
}

/** utime + stime of a process in seconds (Linux /proc; NaN elsewhere). */
function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return NaN;
  }
}

function which(command: string): boolean {
  try {
    execFileSync('which', [command], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const pinning = which('taskset');
if (pinning) {
  execFileSync('taskset', ['-a', '-p', '-c', LOAD_CORE, String(process.pid)], { stdio: 'ignore' });
} else {
  console.log('note: taskset (util-linux) not found: nothing is pinned, servers and load share cores');
}

/** node with tsx running bench/servers.ts, on the server core when taskset is there. */
function spawnNode(args: readonly string[], nodeFlags: readonly string[] = []): ChildProcess {
  const node = [process.execPath, ...nodeFlags, '--import', 'tsx', 'bench/servers.ts', ...args];
  const [command, ...rest] = pinning ? ['taskset', '-c', SERVER_CORE, ...node] : node;
  return spawn(command as string, rest, { stdio: ['ignore', 'pipe', 'inherit'], env: process.env });
}

async function firstLine<T>(child: ChildProcess, what: string): Promise<T> {
  const line = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', resolve);
  });
  return JSON.parse(line) as T;
}

interface Server {
  readonly child: ChildProcess;
  readonly pool: Pool;
  readonly database?: string;
  readonly forms: Record<string, Form>;
}

async function startServer(mode: 'peer' | 'sts'): Promise<Server> {
  const profile = mode === 'sts' && process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=.bench'] : [];
  const child = spawnNode([mode], profile);
  const info = await firstLine<{ baseUrl: string; database?: string; forms: Record<string, Form> }>(
    child,
    `${mode} server`,
  );
  const pool = new Pool(info.baseUrl, { connections: CONNECTIONS, pipelining: 1 });
  return { child, pool, forms: info.forms, ...(info.database ? { database: info.database } : {}) };
}

async function stop(server: Server): Promise<void> {
  await server.pool.close();
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGINT');
  await exited;
}

/** Distinct error answers (the first few kinds), with how often each came. */
const MAX_ERROR_SAMPLES = 10;
const errorSamples = new Map<string, number>();

/** Load over 50 keep-alive connections for `seconds` or `maxRequests`, whichever comes first. */
async function load(
  pid: number | undefined,
  pool: Pool,
  form: Form,
  scenario: Scenario,
  seconds: number,
  maxRequests: number,
): Promise<Measurement> {
  const body = new URLSearchParams(form).toString();
  const latencies = new Float64Array(maxRequests);
  let sent = 0;
  let completed = 0;
  let errors = 0;
  const serverBefore = cpuSeconds(pid);
  const loadBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (sent < maxRequests && performance.now() < deadline) {
        sent += 1;
        const before = performance.now();
        let failure: string | null = null;
        try {
          const response = await pool.request({
            path: '/token',
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
            body,
          });
          const text = await response.body.text();
          if (response.statusCode !== 200) failure = `${response.statusCode} ${text.slice(0, 160)}`;
        } catch (error) {
          failure = `transport: ${(error as Error).message}`;
        }
        latencies[completed] = performance.now() - before;
        completed += 1;
        if (failure !== null) {
          errors += 1;
          const key = `${scenario}: ${failure}`;
          if (errorSamples.has(key) || errorSamples.size < MAX_ERROR_SAMPLES) {
            errorSamples.set(key, (errorSamples.get(key) ?? 0) + 1);
          }
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const loadUsage = process.cpuUsage(loadBefore);
  const serverCpu = (100 * (cpuSeconds(pid) - serverBefore)) / elapsed;
  const loadCpu = (loadUsage.user + loadUsage.system) / 1e4 / elapsed;
  const sorted = latencies.subarray(0, completed).sort();
  const at = (q: number) => sorted[Math.min(completed - 1, Math.floor(q * completed))] ?? NaN;
  const perSecond = completed / elapsed;
  return { perSecond, p50: at(0.5), p99: at(0.99), requests: completed, errors, serverCpu, loadCpu };
}

async function measureHttp(server: Server, scenario: Scenario): Promise<Measurement> {
  const form = server.forms[scenario];
  if (!form) throw new Error(`no form for ${scenario}`);
  await load(server.child.pid, server.pool, form, scenario, WARMUP_SECONDS, MAX_REQUESTS);
  return load(server.child.pid, server.pool, form, scenario, SECONDS, MAX_REQUESTS);
}

async function measureCeiling(): Promise<Measurement> {
  const child = spawnNode(['ceiling', String(SECONDS)]);
  const { perSecond, iterations, cpu } = await firstLine<{
    perSecond: number;
    iterations: number;
    cpu: number;
  }>(child, 'ceiling');
  return { perSecond, p50: NaN, p99: NaN, requests: iterations, errors: 0, serverCpu: cpu, loadCpu: NaN };
}

/** One request per scenario before measuring: each must issue a JWT. */
async function sanityCheck(server: Server, scenarios: readonly Scenario[]): Promise<void> {
  for (const scenario of scenarios) {
    const response = await server.pool.request({
      path: '/token',
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(server.forms[scenario]).toString(),
    });
    const text = await response.body.text();
    const token =
      response.statusCode === 200 ? (JSON.parse(text) as { access_token?: string }).access_token : '';
    if (token?.split('.').length !== 3) {
      throw new Error(`${scenario}: expected a JWT access token, got ${response.statusCode} ${text}`);
    }
  }
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

const peer = await startServer('peer');
const sts = await startServer('sts');
try {
  await sanityCheck(peer, ['peer']);
  await sanityCheck(sts, STS);
  console.log(
    `agent-sts on ${sts.database ?? '?'}; servers pinned to core ${pinning ? SERVER_CORE : '-'}, load on core ` +
      `${pinning ? LOAD_CORE : '-'}; ${CONNECTIONS} connections; ${ROUNDS} rounds of ${SECONDS} s ` +
      `(≤ ${MAX_REQUESTS} requests) per scenario after ${WARMUP_SECONDS} s of warm-up` +
      (QUICK ? ' (BENCH_QUICK)' : ''),
  );
  if (sts.database !== 'postgresql') console.log('note: no DATABASE_URL: the targets are for PostgreSQL');
  else console.log('note: PostgreSQL itself is not pinned: it runs wherever the OS puts it');
  const loadAverage = () =>
    loadavg()
      .map((value) => value.toFixed(1))
      .join(' ');
  console.log(`load average before: ${loadAverage()} (${cpus().length} cores)`);

  const results = new Map<Scenario, Measurement[]>(SCENARIOS.map((scenario) => [scenario, []]));
  for (let round = 0; round < ROUNDS; round += 1) {
    // Rotate the order each round so no scenario always runs first, or right after another.
    const order = SCENARIOS.map((_, index) => SCENARIOS[(index + round * 2) % SCENARIOS.length] as Scenario);
    if (round % 2) order.reverse();
    const line: string[] = [];
    for (const scenario of order) {
      const measurement =
        scenario === 'ceiling'
          ? await measureCeiling()
          : await measureHttp(scenario === 'peer' ? peer : sts, scenario);
      results.get(scenario)?.push(measurement);
      line.push(`${scenario} ${measurement.perSecond.toFixed(0)}`);
    }
    console.log(`round ${round + 1} (req/s): ${line.join(', ')}`);
  }
  console.log(`load average after: ${loadAverage()}`);

  const of = (scenario: Scenario) => results.get(scenario) ?? [];
  const medianOf = (scenario: Scenario, pick: (m: Measurement) => number) => median(of(scenario).map(pick));
  /** The ratio in each round, then its median: both sides of a ratio ran in the same round. */
  const ratio = (top: Scenario, bottom: Scenario) =>
    median(of(top).map((m, round) => m.perSecond / (of(bottom)[round]?.perSecond ?? NaN)));
  const cell = (value: number, digits = 1) => (Number.isNaN(value) ? '-' : value.toFixed(digits)).padStart(7);

  const headings = ['req/s', 'p50 ms', 'p99 ms', 'srv cpu', 'gen cpu'].map((heading) => heading.padStart(7));
  console.log(`\n${'medians over the rounds (cpu: % of one core)'.padEnd(44)} ${headings.join(' ')}  errors`);
  for (const scenario of SCENARIOS) {
    const errors = of(scenario).reduce((sum, m) => sum + m.errors, 0);
    const requests = of(scenario).reduce((sum, m) => sum + m.requests, 0);
    const cells = [
      cell(
        medianOf(scenario, (m) => m.perSecond),
        0,
      ),
      cell(medianOf(scenario, (m) => m.p50)),
      cell(medianOf(scenario, (m) => m.p99)),
      cell(
        medianOf(scenario, (m) => m.serverCpu),
        0,
      ),
      cell(
        medianOf(scenario, (m) => m.loadCpu),
        0,
      ),
    ];
    console.log(`${LABELS[scenario].padEnd(44)} ${cells.join(' ')}  ${errors}/${requests}`);
  }

  let missed = 0;
  const target = (label: string, value: number, comparison: '≥' | '≤', bound: number) => {
    const met = comparison === '≥' ? value >= bound : value <= bound;
    if (!met) missed += 1;
    console.log(
      `${label.padEnd(44)} ${value.toFixed(2).padStart(6)}  target ${comparison} ${bound}  ${met ? 'met' : 'MISSED'}`,
    );
  };
  console.log('\nratios (per round, then the median over the rounds)');
  console.log(`${'cc / peer'.padEnd(44)} ${ratio('cc', 'peer').toFixed(2).padStart(6)}  (no target)`);
  for (const scenario of EXCHANGES) target(`${scenario} / peer`, ratio(scenario, 'peer'), '≥', 0.6);
  for (const scenario of EXCHANGES) target(`${scenario} / ceiling`, ratio(scenario, 'ceiling'), '≥', 0.45);
  target('depth4 cost / hop2 cost (= req/s inverted)', ratio('hop2', 'depth4'), '≤', 1.2);
  for (const scenario of STS) {
    target(`${scenario} p99 / p50`, median(of(scenario).map((m) => m.p99 / m.p50)), '≤', 3);
  }
  const errors = STS.reduce(
    (sum, scenario) => sum + of(scenario).reduce((total, m) => total + m.errors, 0),
    0,
  );
  const noErrors = errors === 0;
  if (!noErrors) missed += 1;
  console.log(
    `${'agent-sts errors'.padEnd(44)} ${String(errors).padStart(6)}  target = 0  ${noErrors ? 'met' : 'MISSED'}`,
  );
  for (const [sample, count] of errorSamples) console.log(`  ${count}× ${sample}`);
  console.log(missed ? `\n${missed} target(s) missed` : '\nall targets met');
} finally {
  await stop(peer);
  await stop(sts);
}
