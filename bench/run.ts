/**
 * Token-endpoint throughput as a ratio against a baseline measured in the same run (these
 * machines are noisy, so only ratios mean something). Each server runs in its own process; this
 * process only generates load, over loopback, bounded by request count and time.
 *
 *   npm run bench                                 agent-sts on the embedded PGlite
 *   DATABASE_URL=postgresql://… npm run bench     agent-sts on PostgreSQL
 *   BENCH_PROFILE=1 npm run bench                 also writes a CPU profile of agent-sts to .bench/
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

const CONCURRENCY = 32;
const MAX_REQUESTS = 6_000;
const MAX_SECONDS = 10;

interface Started {
  readonly child: ChildProcess;
  readonly info: Record<string, unknown> & { baseUrl: string };
}

async function startServer(mode: 'baseline' | 'sts'): Promise<Started> {
  const profile = mode === 'sts' && process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=.bench'] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', 'bench/servers.ts', mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: process.env,
  });
  const firstLine = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${mode} server exited with ${code}`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', resolve);
  });
  return { child, info: JSON.parse(firstLine) as Started['info'] };
}

async function stop({ child }: Started): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGINT');
  await exited;
}

async function measure(label: string, url: string, form: Record<string, string>): Promise<number> {
  const body = new URLSearchParams(form).toString();
  const send = async () => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    if (response.status !== 200) throw new Error(`${label}: ${response.status} ${await response.text()}`);
    await response.arrayBuffer();
  };
  for (let warm = 0; warm < 200; warm += 1) await send();
  let sent = 0;
  const started = performance.now();
  const deadline = started + MAX_SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (sent < MAX_REQUESTS && performance.now() < deadline) {
        sent += 1;
        await send();
      }
    }),
  );
  const perSecond = sent / ((performance.now() - started) / 1000);
  console.log(`${label.padEnd(48)} ${perSecond.toFixed(0).padStart(6)} req/s  (${sent} requests)`);
  return perSecond;
}

const baselineServer = await startServer('baseline');
const baseline = await measure(
  'baseline: fastify + jose verify/sign',
  `${baselineServer.info.baseUrl}/token`,
  baselineServer.info.exchangeForm as Record<string, string>,
);
await stop(baselineServer);

const stsServer = await startServer('sts');
const tokenUrl = `${stsServer.info.baseUrl}/token`;
const clientCredentials = await measure(
  'agent-sts: client_credentials',
  tokenUrl,
  stsServer.info.ownForm as Record<string, string>,
);
const exchange = await measure(
  'agent-sts: token exchange',
  tokenUrl,
  stsServer.info.exchangeForm as Record<string, string>,
);
await stop(stsServer);

console.log(`\ndatabase: ${String(stsServer.info.database)}`);
console.log(`client_credentials / baseline = ${(clientCredentials / baseline).toFixed(2)}`);
console.log(`token exchange / baseline     = ${(exchange / baseline).toFixed(2)}`);
