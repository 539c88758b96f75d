/**
 * A CPU profile of agent-sts under one scenario's load, for finding where a request's time goes:
 *
 *   DATABASE_URL=postgresql://… npx tsx bench/profile.ts hop2 [seconds]
 *
 * Writes `.bench/*.cpuprofile` (open in Chrome DevTools) and prints the heaviest packages and
 * functions by self time. Throughput under the profiler is lower than `npm run bench`'s.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { load, MAX_REQUESTS, sanityCheck, startServer, stop } from './harness.js';

const scenario = process.argv[2] ?? 'hop2';
const seconds = Number(process.argv[3] ?? '10');
rmSync('.bench', { recursive: true, force: true });
process.env.BENCH_PROFILE = '1';
const sts = await startServer('sts');
await sanityCheck(sts, [scenario]);
const form = sts.forms[scenario];
if (!form) throw new Error(`no form for ${scenario}`);
await load(sts.child.pid, sts.pool, form, scenario, 2, MAX_REQUESTS);
const measured = await load(sts.child.pid, sts.pool, form, scenario, seconds, MAX_REQUESTS);
await stop(sts);
console.log(
  `${scenario}: ${measured.perSecond.toFixed(0)} req/s under the profiler, server cpu ${measured.serverCpu.toFixed(0)} %, errors ${measured.errors}`,
);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
const file = readdirSync('.bench').find((name) => name.endsWith('.cpuprofile'));
if (!file) throw new Error('no profile written');
const profile = JSON.parse(readFileSync(`.bench/${file}`, 'utf8')) as {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
};
// Only the measured load: the samples of the last `seconds` before the server stopped (startup,
// module loading and warm-up are left out).
const sampledAt: number[] = [];
profile.timeDeltas.reduce((at, delta) => {
  sampledAt.push(at + delta);
  return at + delta;
}, 0);
const end = sampledAt.at(-1) ?? 0;
const measuredSamples = profile.samples.filter((_, index) => (sampledAt[index] ?? 0) >= end - seconds * 1e6);
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const where = ({ callFrame: { url, functionName } }: ProfileNode) => {
  if (!url) return functionName.startsWith('(') ? functionName : `native ${functionName}`;
  const packageName = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (packageName) return packageName;
  return url.includes('/src/') ? `src/${url.split('/src/')[1]}` : url;
};
const byPlace = new Map<string, number>();
const byFunction = new Map<string, number>();
for (const id of measuredSamples) {
  const node = nodes.get(id);
  if (!node) continue;
  const place = where(node);
  const name = `${place} ${node.callFrame.functionName || '(anonymous)'}:${node.callFrame.lineNumber + 1}`;
  byPlace.set(place, (byPlace.get(place) ?? 0) + 1);
  byFunction.set(name, (byFunction.get(name) ?? 0) + 1);
}
const top = (counts: Map<string, number>, limit: number) => {
  for (const [name, count] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, limit)) {
    console.log(`${((100 * count) / measuredSamples.length).toFixed(1).padStart(5)} %  ${name}`);
  }
};
console.log(`\nself time by place (${file}):`);
top(byPlace, 40);
console.log('\nself time by function:');
top(byFunction, 40);
