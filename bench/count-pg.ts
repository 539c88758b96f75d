/**
 * Preload for bench/statements.ts: counts every statement the pg driver sends from this process
 * (Prisma's adapter and the pool alike), by text. On SIGUSR2 prints the counts since the last
 * signal as one JSON line on stderr and starts again from zero.
 */
import pg from 'pg';

const counts = new Map<string, number>();
const original = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const first = args[0] as string | { text?: string } | undefined;
  const text = typeof first === 'string' ? first : (first?.text ?? '?');
  const key = text.replace(/\s+/g, ' ').slice(0, 120);
  counts.set(key, (counts.get(key) ?? 0) + 1);
  return (original as (...a: unknown[]) => unknown).apply(this, args);
} as typeof original;

process.on('SIGUSR2', () => {
  process.stderr.write(`STATEMENTS ${JSON.stringify(Object.fromEntries(counts))}\n`);
  counts.clear();
});
