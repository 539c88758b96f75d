/**
 * The change feed (ADR 0017): every committed change to what instances cache reaches every
 * instance on the database within moments, by PostgreSQL LISTEN/NOTIFY.
 *
 * A writer publishes in the transaction of its write (`publish(tx, kind)`): PostgreSQL delivers a
 * NOTIFY only when that transaction commits, so a rolled-back write announces nothing and a
 * committed one is announced exactly once, to every listening session. The writer's own feed
 * drops its own notices: the writer applies its change itself right after the commit.
 * Each instance listens on a connection of its own (database.ts); when it is lost the feed
 * reconnects with backoff and then tells its listeners to `resync`, since notifications sent
 * meanwhile are gone. The periodic refreshes (registry TTL, key refresh) stay as the safety net.
 *
 * On the embedded PGlite one process owns the database, so the same NOTIFY reaches the only
 * instance there is, through PGlite's in-process `listen`.
 */
import { randomUUID } from 'node:crypto';
import type { Database, ListenSession, Transaction } from './database.js';

export const CHANGE_CHANNEL = 'agent_sts_changes';

/**
 * What changed. `registry`: agents, resources and trusted issuers (create, update, disable,
 * enable, delete, secret rotation). `keys`: signing keys (rotation, revocation, a scheduled
 * promotion). Token revocations need none: every instance reads revocation state from the
 * database on each use (lineage-store.ts `standing`), uncached.
 */
export type ChangeKind = 'registry' | 'keys';

/** What a listener hears: a change, or `resync` after a gap in which changes may have been missed. */
export type ChangeEvent =
  { readonly kind: ChangeKind; readonly instance: string } | { readonly kind: 'resync' };

const KINDS: ReadonlySet<string> = new Set<ChangeKind>(['registry', 'keys']);

/**
 * A payload this feed cannot read (garbled, or a kind from a newer release during a rolling
 * upgrade) is taken as `resync`: dropping every cache is always correct, only slower.
 */
export function parseChange(payload: string): ChangeEvent {
  try {
    const value = JSON.parse(payload) as { kind?: unknown; instance?: unknown };
    if (typeof value.kind === 'string' && KINDS.has(value.kind) && typeof value.instance === 'string') {
      return { kind: value.kind as ChangeKind, instance: value.instance };
    }
  } catch {
    // fall through
  }
  return { kind: 'resync' };
}

export interface ChangeFeedOptions {
  /** First wait before reconnecting; doubled after each failure up to `maxBackoffMs`. */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly log?: {
    warn(details: object, message: string): void;
    info(details: object, message: string): void;
  };
}

export class ChangeFeed {
  /** Names this instance in payloads and in pg_stat_activity (`agent-sts-changes:<instance>`). */
  readonly instance = randomUUID();
  readonly #database: Pick<Database, 'listen'>;
  readonly #listeners: ((event: ChangeEvent) => void)[] = [];
  readonly #initialBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #log: ChangeFeedOptions['log'];
  #session: ListenSession | null = null;
  #backoffMs: number;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(database: Pick<Database, 'listen'>, options: ChangeFeedOptions = {}) {
    this.#database = database;
    this.#initialBackoffMs = options.initialBackoffMs ?? 100;
    this.#maxBackoffMs = options.maxBackoffMs ?? 5_000;
    this.#backoffMs = this.#initialBackoffMs;
    this.#log = options.log;
  }

  /** The session name under which this instance listens. */
  get applicationName(): string {
    return `agent-sts-changes:${this.instance}`;
  }

  /** True while the LISTEN session is up. */
  get listening(): boolean {
    return this.#session !== null;
  }

  onChange(listener: (event: ChangeEvent) => void): void {
    this.#listeners.push(listener);
  }

  /**
   * Announces `kind` when `tx` commits. The payload names the kind and this instance, nothing of
   * the change itself: listeners reload what they need from the database.
   */
  async publish(tx: Transaction, kind: ChangeKind): Promise<void> {
    const payload = JSON.stringify({ kind, instance: this.instance });
    await tx.$executeRaw`SELECT pg_notify(${CHANGE_CHANNEL}::text, ${payload}::text)`;
  }

  /**
   * Starts listening. A first connection that fails is retried in the background like a lost
   * one: the instance serves meanwhile, fresh to within its safety nets.
   */
  async start(): Promise<void> {
    if (!(await this.#connect())) this.#scheduleReconnect();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    const session = this.#session;
    this.#session = null;
    await session?.close();
  }

  async #connect(): Promise<boolean> {
    try {
      const session = await this.#database.listen(
        CHANGE_CHANNEL,
        {
          onNotification: (payload) => {
            const event = parseChange(payload);
            // The writer has already applied its own change, synchronously after its commit.
            if (event.kind === 'resync' || event.instance !== this.instance) this.#emit(event);
          },
          onEnd: (error) => this.#lost(error),
        },
        this.applicationName,
      );
      if (this.#closed) {
        await session.close();
        return true;
      }
      this.#session = session;
      this.#backoffMs = this.#initialBackoffMs;
      return true;
    } catch (error) {
      this.#log?.warn({ err: error }, 'change feed: could not listen for changes');
      return false;
    }
  }

  #lost(error?: Error): void {
    this.#session = null;
    if (this.#closed) return;
    this.#log?.warn({ err: error }, 'change feed: lost the connection, reconnecting');
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#closed) return;
    // Jitter, so instances cut off together do not all come back in the same instant.
    const wait = this.#backoffMs * (0.5 + Math.random() / 2);
    this.#backoffMs = Math.min(this.#backoffMs * 2, this.#maxBackoffMs);
    this.#retry = setTimeout(() => {
      void this.#connect().then((connected) => {
        if (!connected) return this.#scheduleReconnect();
        if (this.#closed) return;
        this.#log?.info({}, 'change feed: listening again, reloading what may have been missed');
        this.#emit({ kind: 'resync' });
      });
    }, wait);
    this.#retry.unref();
  }

  #emit(event: ChangeEvent): void {
    for (const listener of this.#listeners) listener(event);
  }
}
