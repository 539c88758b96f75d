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
import { cpus, loadavg } from 'node:os';
import {
  CONNECTIONS,
  errorSamples,
  firstLine,
  LOAD_CORE,
  MAX_REQUESTS,
  measureHttp,
  median,
  pinning,
  QUICK,
  ROUNDS,
  sanityCheck,
  SECONDS,
  SERVER_CORE,
  spawnNode,
  startServer,
  stop,
  WARMUP_SECONDS,
  type Measurement,
} from './harness.js';

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

async function measureCeiling(): Promise<Measurement> {
  const child = spawnNode(['ceiling', String(SECONDS)]);
  const { perSecond, iterations, cpu } = await firstLine<{
    perSecond: number;
    iterations: number;
    cpu: number;
  }>(child, 'ceiling');
  return { perSecond, p50: NaN, p99: NaN, requests: iterations, errors: 0, serverCpu: cpu, loadCpu: NaN };
}

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
