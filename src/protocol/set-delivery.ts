/**
 * The push half of revocation SET delivery (RFC 8935; ADR 0026): a worker in every instance that
 * claims due outbox rows (SecurityEventStore.claimDue: SKIP LOCKED and a lease, so instances share
 * the work and never post one row at once), signs each SET with the active key at the moment it
 * is sent, POSTs it, and records the outcome with its audit row (domain/set-delivery.ts decides
 * delivered, retry with exponential backoff, or give up).
 *
 * The POST goes through the same address policy as JWKS fetches (jwks-fetch.ts, SECURITY-CASES
 * AD-06): the endpoint is `https` (plain `http` on loopback only with ALLOW_LOOPBACK_HTTP_JWKS),
 * every address its host resolves to must be fetchable, the socket connects to a checked address,
 * redirects are not followed, and at most 4 KiB of the answer is read.
 */
import { fetch as undiciFetch, type Agent } from 'undici';
import { judgePushAnswer, type RetryPolicy } from '../domain/set-delivery.js';
import type { KeySet } from '../infra/signing-keys.js';
import { open } from '../infra/secret-box.js';
import type { DueEvent, SecurityEventStore } from '../infra/security-events.js';
import { createGuardedAgent, refusalIn } from './jwks-fetch.js';
import { isAllowedJwksUri } from './jwks-uri.js';
import { SECEVENT_CONTENT_TYPE, signRevocationSet } from './security-event-token.js';

/** The associated data that ties a sealed Authorization header to its receiver row. */
export function receiverAuthorizationAad(receiverId: string): string {
  return `set-receiver:${receiverId}`;
}

const ANSWER_MAX_BYTES = 4096;
const PUSH_TIMEOUT_MS = 5_000;
/** A claimed row is not claimed again for this long: well past one push's timeout. */
const LEASE_MS = 60_000;
const BATCH = 20;
const PURGE_EVERY_ROUNDS = 3600;

export interface SetDeliveryOptions {
  readonly store: SecurityEventStore;
  readonly issuer: string;
  readonly keys: () => KeySet;
  readonly keyEncryptionKey: Buffer;
  readonly allowLoopback: boolean;
  readonly retry: RetryPolicy;
  /** How often the outbox is looked at when nothing wakes the worker. */
  readonly intervalMs: number;
  readonly log: {
    warn(object: object, message: string): void;
    info(object: object, message: string): void;
  };
}

interface Answer {
  readonly status: number;
  readonly err: string | undefined;
}

async function readErr(body: AsyncIterable<Uint8Array> | null): Promise<string | undefined> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body ?? []) {
    chunks.push(chunk);
    size += chunk.byteLength;
    if (size > ANSWER_MAX_BYTES) return undefined;
  }
  try {
    const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { err?: unknown };
    return typeof parsed.err === 'string' ? parsed.err : undefined;
  } catch {
    return undefined;
  }
}

export class SetDeliveryWorker {
  readonly #options: SetDeliveryOptions;
  readonly #dispatcher: Agent;
  #timer: NodeJS.Timeout | null = null;
  #round: Promise<void> | null = null;
  #again = false;
  #closed = false;
  #rounds = 0;

  constructor(options: SetDeliveryOptions) {
    this.#options = options;
    this.#dispatcher = createGuardedAgent(options.allowLoopback);
  }

  start(): void {
    this.#timer = setInterval(() => this.wake(), this.#options.intervalMs);
    this.#timer.unref();
    this.wake();
  }

  /** Runs a round now (after a revocation committed here), or right after the one under way. */
  wake(): void {
    if (this.#closed) return;
    if (this.#round) {
      this.#again = true;
      return;
    }
    this.#round = this.#run()
      .catch((error: unknown) => this.#options.log.warn({ err: error }, 'SET delivery round failed'))
      .finally(() => {
        this.#round = null;
        if (this.#again) {
          this.#again = false;
          this.wake();
        }
      });
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#round;
    await this.#dispatcher.close();
  }

  async #run(): Promise<void> {
    const { store } = this.#options;
    if (this.#rounds++ % PURGE_EVERY_ROUNDS === 0) await store.purgeExpired();
    for (;;) {
      const due = await store.claimDue(BATCH, LEASE_MS);
      await Promise.all(due.map((event) => this.#deliver(event)));
      if (due.length < BATCH || this.#closed) return;
    }
  }

  async #deliver(event: DueEvent): Promise<void> {
    const { store, retry, log } = this.#options;
    const answer = await this.#post(event).then(
      (response): Parameters<typeof judgePushAnswer>[0] => ({ kind: 'response', ...response }),
      (error: unknown) => ({ kind: 'unreachable' as const, reason: describe(error) }),
    );
    const verdict = judgePushAnswer(answer, event.attempt, retry);
    const outcome =
      verdict.kind === 'retry'
        ? { kind: 'retry' as const, error: verdict.error, retryAt: new Date(Date.now() + verdict.delayMs) }
        : verdict;
    await store.recordAttempt(event, outcome);
    if (verdict.kind !== 'delivered') {
      log.warn(
        { receiver: event.receiverId, set: event.jti, attempt: event.attempt, outcome: verdict.kind },
        `SET push failed: ${verdict.error}`,
      );
    }
  }

  async #post(event: DueEvent): Promise<Answer> {
    const { issuer, keys, keyEncryptionKey, allowLoopback } = this.#options;
    if (!isAllowedJwksUri(event.endpointUrl, allowLoopback)) throw new Error('endpoint URL is not allowed');
    const active = keys().active;
    const set = await signRevocationSet(event, issuer, active);
    const headers: Record<string, string> = {
      'content-type': SECEVENT_CONTENT_TYPE,
      accept: 'application/json',
    };
    if (event.authorizationSealed) {
      headers.authorization = open(
        keyEncryptionKey,
        event.authorizationSealed,
        receiverAuthorizationAad(event.receiverId),
      );
    }
    const response = await undiciFetch(event.endpointUrl, {
      method: 'POST',
      headers,
      body: set,
      redirect: 'manual',
      signal: AbortSignal.timeout(PUSH_TIMEOUT_MS),
      dispatcher: this.#dispatcher,
    });
    try {
      const err = response.status === 400 ? await readErr(response.body) : undefined;
      return { status: response.status, err };
    } finally {
      if (response.body && !response.bodyUsed) await response.body.cancel().catch(() => undefined);
    }
  }
}

/** A short reason for the audit row: the refusal, the error code, never a URL path or a token. */
function describe(error: unknown): string {
  const refusal = refusalIn(error);
  if (refusal) return refusal.code;
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    if (cause.name === 'TimeoutError') return 'timeout';
  }
  return error instanceof Error ? error.message.slice(0, 200) : 'unknown error';
}
