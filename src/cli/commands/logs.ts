/**
 * `audit` (token decisions, `/admin/audit`) and `events` (admin changes, `/admin/events`): one page
 * newest first, or with `--follow` the newest events and then each new one as it arrives, oldest
 * first, until interrupted. Both logs are paged by increasing event id, so following polls the
 * newest-first API and keeps the events above the last id it printed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Command, Option } from 'commander';
import type { AdminClient, Query } from '../client.js';
import { action, type Context, type Io, type Options } from '../context.js';
import { ApiError, NetworkError, UsageError } from '../errors.js';
import { parseInstant, parsePositiveInt, parseSeconds } from '../input.js';
import { adminEventLine, auditLine } from '../render.js';
import type { Page } from '../types.js';

const MAX_PAGE = 200;
/** `--interval` is bounded: at least 0.2 s (no busy polling), at most a minute. */
const MIN_INTERVAL_S = 0.2;
const MAX_INTERVAL_S = 60;

interface LogEvent {
  readonly id: string;
}

interface LogSpec<E extends LogEvent> {
  readonly name: string;
  readonly path: string;
  readonly description: string;
  /** [flags, description, query member] */
  readonly filters: readonly (readonly [string, string, string])[];
  readonly line: (event: E) => string;
}

/** Events newer than `after`, oldest first: newest-first pages until one reaches `after`. */
async function eventsAfter<E extends LogEvent>(
  client: AdminClient,
  path: string,
  query: Query,
  after: bigint,
): Promise<E[]> {
  const fresh: E[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await client.get<Page<E>>(path, { ...query, limit: MAX_PAGE, cursor });
    for (const event of page.items) {
      if (BigInt(event.id) <= after) return fresh.reverse();
      fresh.push(event);
    }
    if (!page.nextCursor) return fresh.reverse();
    cursor = page.nextCursor;
  }
}

/** Answers worth retrying while following: the service is restarting or busy. */
function transient(error: unknown): boolean {
  return (
    error instanceof NetworkError ||
    (error instanceof ApiError && (error.status >= 500 || error.status === 429))
  );
}

async function follow<E extends LogEvent>(
  context: Context,
  spec: LogSpec<E>,
  query: Query,
  intervalMs: number,
): Promise<void> {
  const emit = (event: E) =>
    context.json ? context.io.stdout(`${JSON.stringify(event)}\n`) : context.print(spec.line(event));
  const stop = new AbortController();
  const interrupt = () => stop.abort();
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    const first = await context.client.get<Page<E>>(spec.path, query);
    [...first.items].reverse().forEach(emit);
    let last = first.items.reduce((max, event) => (BigInt(event.id) > max ? BigInt(event.id) : max), 0n);
    let warned = false;
    while (!stop.signal.aborted) {
      try {
        await sleep(intervalMs, undefined, { signal: stop.signal });
      } catch {
        break; // interrupted
      }
      try {
        const fresh = await eventsAfter<E>(context.client, spec.path, query, last);
        fresh.forEach(emit);
        const newest = fresh.at(-1);
        if (newest) last = BigInt(newest.id);
        if (warned) context.io.stderr('agent-sts: reachable again\n');
        warned = false;
      } catch (error) {
        if (!transient(error)) throw error;
        if (!warned) context.io.stderr(`agent-sts: ${(error as Error).message}; still polling\n`);
        warned = true;
      }
    }
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  }
}

function logCommand<E extends LogEvent>(spec: LogSpec<E>, io: Io): Command {
  const command = new Command(spec.name).description(spec.description);
  for (const [flags, description] of spec.filters) command.option(flags, description);
  return command
    .option('--from <time>', 'from this time on (RFC 3339 or YYYY-MM-DD; inclusive)', parseInstant)
    .option('--to <time>', 'up to this time (RFC 3339 or YYYY-MM-DD; inclusive)', parseInstant)
    .option(
      '--limit <n>',
      'how many events (1-200, default 50; with --follow, how many to show first)',
      parsePositiveInt,
    )
    .option('--cursor <cursor>', 'the nextCursor of the previous page')
    .option(
      '-f, --follow',
      'print new events as they arrive, oldest first, until Ctrl-C (with --json: one JSON object per line)',
    )
    .option(
      '--interval <seconds>',
      `poll interval with --follow (${MIN_INTERVAL_S}-${MAX_INTERVAL_S}, default 2)`,
      parseSeconds,
      2,
    )
    .action(
      action(io, async (context, _args, options: Options) => {
        const query: Record<string, string | number | undefined> = {
          from: options.from as string | undefined,
          to: options.to as string | undefined,
          limit: options.limit as number | undefined,
          cursor: options.cursor as string | undefined,
        };
        for (const [flags, , member] of spec.filters) {
          query[member] = options[new Option(flags).attributeName()] as string | undefined;
        }
        if (options.follow) {
          if (options.to !== undefined || options.cursor !== undefined) {
            throw new UsageError('--follow shows new events: it takes neither --to nor --cursor');
          }
          const interval = options.interval as number;
          if (interval < MIN_INTERVAL_S || interval > MAX_INTERVAL_S) {
            throw new UsageError(
              `--interval must be between ${MIN_INTERVAL_S} and ${MAX_INTERVAL_S} seconds`,
            );
          }
          return follow(context, spec, query, interval * 1000);
        }
        const page = await context.client.get<Page<E>>(spec.path, query);
        if (context.json) return context.printJson(page);
        if (page.items.length === 0) return context.print('no events');
        for (const event of page.items) context.print(spec.line(event));
        if (page.nextCursor) context.print(`\nolder: --cursor ${page.nextCursor}`);
      }),
    );
}

export function logCommands(io: Io): Command[] {
  return [
    logCommand(
      {
        name: 'audit',
        path: '/admin/audit',
        description: 'token decisions (granted and denied, with the rule that decided), newest first',
        filters: [
          ['--agent <client_id>', 'the client_id of the event', 'agent'],
          ['--subject <sub>', 'the subject', 'subject'],
          ['--txn <txn>', 'one chain', 'txn'],
          ['--decision <decision>', 'granted or denied', 'decision'],
        ],
        line: auditLine,
      },
      io,
    ),
    logCommand(
      {
        name: 'events',
        path: '/admin/events',
        description:
          'admin changes (who changed which agent, resource, issuer or key, or revoked what), newest first',
        filters: [
          ['--actor <client_id>', 'the agent whose sts:admin token made the change', 'actor'],
          ['--actor-kind <kind>', 'admin_token or access_token', 'actorKind'],
          ['--action <action>', 'e.g. agent.created, tokens.revoked', 'action'],
          [
            '--target-type <type>',
            'agent, resource, trusted_issuer, signing_key, token, chain',
            'targetType',
          ],
          ['--target-id <id>', 'the changed object', 'targetId'],
        ],
        line: adminEventLine,
      },
      io,
    ),
  ];
}
