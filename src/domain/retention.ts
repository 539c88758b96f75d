/**
 * How long the two growing tables keep their rows (ADR 0015), as pure arithmetic on instants. The
 * retention job drops a whole day partition only when `partitionExpired` says every row it can
 * hold is past its table's cutoff.
 */

const DAY_MS = 86_400_000;

/** The tables retention drops by day partition. */
export type RetainedTable = 'audit_events' | 'issued_tokens';

export interface RetentionPolicy {
  /** Audit events are kept at least this many days after their `at`. */
  readonly auditRetentionDays: number;
  /** Lineage is kept at least this many seconds after its chain started (`lineageKeepSeconds`). */
  readonly lineageKeepSeconds: number;
}

/**
 * How long after its chain started a lineage row must stay. Every token of a chain expires no
 * later than the chain's root (a hop never outlives its parent, CONTRACT §3.3) and the root lives
 * at most the longest token lifetime, so the chain's last token has expired by then; a token is
 * accepted up to the clock tolerance after its `exp` (its lineage decides whether it is revoked),
 * and the grace keeps the chain visible to operators after that.
 */
export function lineageKeepSeconds(input: {
  readonly maxTokenTtlSeconds: number;
  readonly clockToleranceSeconds: number;
  readonly graceDays: number;
}): number {
  return input.maxTokenTtlSeconds + input.clockToleranceSeconds + input.graceDays * 86_400;
}

/** The instant before which `table`'s rows are past retention at `now`. */
export function retentionCutoff(table: RetainedTable, policy: RetentionPolicy, now: Date): Date {
  const keepMs =
    table === 'audit_events' ? policy.auditRetentionDays * DAY_MS : policy.lineageKeepSeconds * 1000;
  return new Date(now.getTime() - keepMs);
}

/**
 * Whether the partition of `table` holding the UTC day that starts at `dayStart` may be dropped:
 * every row in it is older than the day's end, so the whole day must be past the cutoff.
 */
export function partitionExpired(
  table: RetainedTable,
  dayStart: Date,
  policy: RetentionPolicy,
  now: Date,
): boolean {
  return dayStart.getTime() + DAY_MS <= retentionCutoff(table, policy, now).getTime();
}
