/**
 * Retention of the two tables that grow with traffic, `audit_events` and `issued_tokens` (ADR
 * 0015). Both are range-partitioned by day (UTC); this job is the only way their rows ever leave:
 * it drops whole partitions once everything in them is past retention (DETACH + DROP, each under a
 * short lock timeout: a busy table makes it give up until the next run, never queue inserts behind
 * it). It also creates the partitions of the coming days ahead of time, so inserts land in a day
 * partition; the DEFAULT partition catches anything else and is itself dropped whole once its
 * newest row is past retention. The SQL lives in the migration's `sts_*` functions.
 *
 * Several instances may run it at once: a session advisory lock lets one do the work and the
 * others skip the round.
 */
import {
  partitionExpired,
  retentionCutoff,
  type RetainedTable,
  type RetentionPolicy,
} from '../domain/retention.js';
import type { Database, SqlSession } from './database.js';

/** Serialises the job across instances (next to the migration lock's id). */
const RETENTION_LOCK_ID = 72_210_868;
const DAY_MS = 86_400_000;
/** How many days ahead partitions exist, so a week without the job still inserts into day partitions. */
const DAYS_AHEAD = 7;
const PARTITION_NAME = /^(?<parent>audit_events|issued_tokens)_p(?<day>\d{8})$/;

export interface RetentionJobPolicy extends RetentionPolicy {
  /** How long one step may wait for its lock before it gives up until the next run. */
  readonly lockTimeoutMs: number;
}

export interface RetentionReport {
  /** Another session held the job's lock: this run did nothing. */
  readonly skipped: boolean;
  readonly created: readonly string[];
  readonly dropped: readonly string[];
  /** Rows of DEFAULT partitions dropped whole, by table. */
  readonly droppedFromDefault: Readonly<Partial<Record<RetainedTable, number>>>;
  /** Steps that could not run this time (a lock not granted in time, …); the next run retries. */
  readonly failures: readonly { readonly step: string; readonly error: string }[];
}

/** The UTC day that holds `instant`, as YYYY-MM-DD. */
function utcDay(instant: Date): string {
  return instant.toISOString().slice(0, 10);
}

interface DayPartition {
  readonly parent: RetainedTable;
  readonly name: string;
  /** Start of the partition's UTC day. */
  readonly day: Date;
}

async function dayPartitions(session: SqlSession): Promise<DayPartition[]> {
  const rows = await session.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i
       JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent IN ('audit_events'::regclass, 'issued_tokens'::regclass)`,
  );
  const partitions: DayPartition[] = [];
  for (const { name } of rows) {
    const match = PARTITION_NAME.exec(name);
    if (!match?.groups) continue;
    const day = match.groups.day as string;
    const start = Date.parse(`${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6, 8)}T00:00:00Z`);
    partitions.push({ parent: match.groups.parent as RetainedTable, name, day: new Date(start) });
  }
  return partitions.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * One round of the job at `now`: creates today's and the coming days' partitions, drops every
 * day partition whose rows are all past retention, and the DEFAULT partition when all its rows are.
 * A failed step is reported and left for the next run; the others still run.
 */
export async function enforceRetention(
  database: Database,
  policy: RetentionJobPolicy,
  now: Date = new Date(),
): Promise<RetentionReport> {
  return database.withSession(async (session) => {
    const [lock] = await session.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
      RETENTION_LOCK_ID,
    ]);
    if (!lock?.locked)
      return { skipped: true, created: [], dropped: [], droppedFromDefault: {}, failures: [] };
    try {
      return { skipped: false, ...(await runRound(session, policy, now)) };
    } finally {
      await session.query('SELECT pg_advisory_unlock($1)', [RETENTION_LOCK_ID]);
    }
  });
}

async function runRound(session: SqlSession, policy: RetentionJobPolicy, now: Date) {
  const wait = `${policy.lockTimeoutMs} milliseconds`;
  const created: string[] = [];
  const dropped: string[] = [];
  const droppedFromDefault: Partial<Record<RetainedTable, number>> = {};
  const failures: { step: string; error: string }[] = [];
  const attempt = async (step: string, work: () => Promise<void>): Promise<void> => {
    try {
      await work();
    } catch (error) {
      failures.push({ step, error: error instanceof Error ? error.message : String(error) });
    }
  };

  const tables: readonly RetainedTable[] = ['audit_events', 'issued_tokens'];
  for (const table of tables) {
    for (let ahead = 0; ahead <= DAYS_AHEAD; ahead += 1) {
      const day = utcDay(new Date(now.getTime() + ahead * DAY_MS));
      await attempt(`create ${table} ${day}`, async () => {
        const [row] = await session.query<{ created: boolean }>(
          'SELECT sts_ensure_day_partition($1, $2::date, $3::interval) AS created',
          [table, day, wait],
        );
        if (row?.created) created.push(`${table}_p${day.replaceAll('-', '')}`);
      });
    }
  }

  for (const partition of await dayPartitions(session)) {
    if (!partitionExpired(partition.parent, partition.day, policy, now)) continue;
    await attempt(`drop ${partition.name}`, async () => {
      const [row] = await session.query<{ dropped: boolean }>(
        'SELECT sts_drop_partition($1, $2, $3::interval) AS dropped',
        [partition.parent, partition.name, wait],
      );
      if (row?.dropped) dropped.push(partition.name);
    });
  }

  for (const table of tables) {
    await attempt(`drop ${table}_default`, async () => {
      const [row] = await session.query<{ rows: string }>(
        'SELECT sts_drop_default_partition($1, $2::timestamptz, $3::interval)::text AS rows',
        [table, retentionCutoff(table, policy, now).toISOString(), wait],
      );
      const rows = Number(row?.rows ?? 0);
      if (rows > 0) droppedFromDefault[table] = rows;
    });
  }
  return { created, dropped, droppedFromDefault, failures };
}
