/**
 * What the benchmarks share (bench/run.ts, bench/growth.ts): the sizes of a run, pinning (servers
 * on core 1, this load generator on core 0, via taskset), starting and stopping the server
 * processes of bench/servers.ts, the token-endpoint load over 50 keep-alive connections, the
 * one-request sanity check, and medians.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Pool } from 'undici';
import type { Form } from './servers.js';

export const QUICK = Boolean(process.env.BENCH_QUICK);
export const CONNECTIONS = 50;
export const ROUNDS = QUICK ? 2 : 3;
export const SECONDS = QUICK ? 1 : 5;
export const MAX_REQUESTS = QUICK ? 3_000 : 60_000;
export const WARMUP_SECONDS = QUICK ? 0.3 : 1;
export const SERVER_CORE = '1';
export const LOAD_CORE = '0';

export interface Measurement {
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

export const pinning = which('taskset');
if (pinning) {
  execFileSync('taskset', ['-a', '-p', '-c', LOAD_CORE, String(process.pid)], { stdio: 'ignore' });
} else {
  console.log('note: taskset (util-linux) not found: nothing is pinned, servers and load share cores');
}

/** node with tsx running bench/servers.ts, on the server core when taskset is there. */
export function spawnNode(
  args: readonly string[],
  nodeFlags: readonly string[] = [],
  env: NodeJS.ProcessEnv = {},
): ChildProcess {
  const node = [process.execPath, ...nodeFlags, '--import', 'tsx', 'bench/servers.ts', ...args];
  const [command, ...rest] = pinning ? ['taskset', '-c', SERVER_CORE, ...node] : node;
  return spawn(command as string, rest, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
}

export async function firstLine<T>(child: ChildProcess, what: string): Promise<T> {
  const line = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', resolve);
  });
  return JSON.parse(line) as T;
}

export interface Server {
  readonly child: ChildProcess;
  readonly pool: Pool;
  readonly database?: string;
  readonly forms: Record<string, Form>;
  /** The bootstrap admin token (servers started in `admin` mode). */
  readonly adminToken?: string;
}

/** A server of bench/servers.ts in `mode`, with `env` on top of this process's environment. */
export async function startServer(
  mode: 'peer' | 'sts' | 'admin',
  env: NodeJS.ProcessEnv = {},
  connections = CONNECTIONS,
): Promise<Server> {
  const profile = mode === 'sts' && process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=.bench'] : [];
  const child = spawnNode([mode], profile, env);
  const info = await firstLine<{
    baseUrl: string;
    database?: string;
    forms?: Record<string, Form>;
    adminToken?: string;
  }>(child, `${mode} server`);
  const pool = new Pool(info.baseUrl, { connections, pipelining: 1 });
  return {
    child,
    pool,
    forms: info.forms ?? {},
    ...(info.database ? { database: info.database } : {}),
    ...(info.adminToken ? { adminToken: info.adminToken } : {}),
  };
}

export async function stop(server: Server): Promise<void> {
  await server.pool.close();
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGINT');
  await exited;
}

/** Distinct error answers (the first few kinds), with how often each came. */
const MAX_ERROR_SAMPLES = 10;
export const errorSamples = new Map<string, number>();

/** Load over 50 keep-alive connections for `seconds` or `maxRequests`, whichever comes first. */
export async function load(
  pid: number | undefined,
  pool: Pool,
  form: Form,
  scenario: string,
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

/** Warm-up, then one measurement of `scenario`'s form on `server`. */
export async function measureHttp(server: Server, scenario: string): Promise<Measurement> {
  const form = server.forms[scenario];
  if (!form) throw new Error(`no form for ${scenario}`);
  await load(server.child.pid, server.pool, form, scenario, WARMUP_SECONDS, MAX_REQUESTS);
  return load(server.child.pid, server.pool, form, scenario, SECONDS, MAX_REQUESTS);
}

/** One request per scenario before measuring: each must issue a JWT. */
export async function sanityCheck(server: Server, scenarios: readonly string[]): Promise<void> {
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

export const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};
