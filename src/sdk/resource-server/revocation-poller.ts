/**
 * `createRevocationPoller`: poll-based delivery of agent-sts revocation SETs (RFC 8936), for a
 * resource server that cannot receive pushes. Every `intervalMs` it POSTs to the poll endpoint
 * (`security_event_poll_endpoint` of the issuer's metadata) with its bearer secret, hands each SET
 * to the receiver (the same checks as a push), and acknowledges it in the next request: `ack` for
 * an accepted SET or a duplicate, `setErrs` for a refused one. A SET stays pending at agent-sts
 * until acknowledged, so a poll that fails loses nothing: the next one gets it again. A revocation
 * reaches the deny-list at most one interval (plus one request) after it committed.
 */
import { wellKnownUrl } from '../shared/well-known.js';
import type { RevocationList } from './revocation-list.js';
import { SetReceiveError, type RevocationReceiver } from './revocation-receiver.js';

export interface RevocationPollerOptions {
  /** The agent-sts issuer identifier. */
  readonly issuer: string;
  /** `createRevocationReceiver({ issuer, audience })`: verifies and applies each SET. */
  readonly receiver: RevocationReceiver;
  /** The bearer secret agent-sts returned when the receiver was registered with `delivery: poll`. */
  readonly secret: string;
  /** Skips discovery. */
  readonly endpoint?: string;
  /** Time between polls, in ms. Default 5 000. */
  readonly intervalMs?: number;
  /** SETs asked for per request. Default 100. */
  readonly maxEvents?: number;
  /** Told of every failed poll (the next one tries again). */
  readonly onError?: (error: unknown) => void;
  readonly fetch?: typeof fetch;
}

export interface PollResult {
  readonly accepted: number;
  readonly refused: number;
}

export interface RevocationPoller {
  readonly revocations: RevocationList;
  /** Polls until nothing more is available, acknowledging what it received. */
  pollOnce(): Promise<PollResult>;
  /** Polls now, then every `intervalMs`, until `stop()`. */
  start(): void;
  stop(): Promise<void>;
}

interface PollAnswer {
  readonly sets?: Record<string, unknown>;
  readonly moreAvailable?: boolean;
}

export function createRevocationPoller(options: RevocationPollerOptions): RevocationPoller {
  const request = options.fetch ?? fetch;
  const maxEvents = options.maxEvents ?? 100;
  let endpoint: Promise<string> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = false;
  /** Acknowledgements not yet sent (a failed poll keeps them for the next). */
  let ack: string[] = [];
  const setErrs: Record<string, { err: string; description: string }> = {};

  async function discover(): Promise<string> {
    if (options.endpoint) return options.endpoint;
    const response = await request(wellKnownUrl(options.issuer, 'oauth-authorization-server'), {
      headers: { accept: 'application/json' },
      redirect: 'error',
      signal: AbortSignal.timeout(5_000),
    });
    if (!response.ok) throw new Error(`metadata answered ${response.status}`);
    const metadata = (await response.json()) as { issuer?: unknown; security_event_poll_endpoint?: unknown };
    if (metadata.issuer !== options.issuer) throw new Error('metadata names another issuer');
    if (typeof metadata.security_event_poll_endpoint !== 'string') {
      throw new Error('metadata has no security_event_poll_endpoint');
    }
    return metadata.security_event_poll_endpoint;
  }

  async function poll(wanted: number): Promise<PollAnswer> {
    endpoint ??= discover().catch((error: unknown) => {
      endpoint = undefined;
      throw error;
    });
    const sending = { ack, setErrs };
    const response = await request(await endpoint, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${options.secret}`,
        'content-type': 'application/json',
        accept: 'application/json',
      },
      body: JSON.stringify({ maxEvents: wanted, returnImmediately: true, ...sending }),
      redirect: 'error',
      signal: AbortSignal.timeout(10_000),
    });
    if (response.status !== 200) throw new Error(`the poll endpoint answered ${response.status}`);
    // Sent and accepted: only what arrived since is still to acknowledge.
    ack = ack.filter((jti) => !sending.ack.includes(jti));
    for (const jti of Object.keys(sending.setErrs)) delete setErrs[jti];
    return (await response.json()) as PollAnswer;
  }

  async function pollOnce(): Promise<PollResult> {
    let accepted = 0;
    let refused = 0;
    for (;;) {
      const answer = await poll(maxEvents);
      for (const [jti, set] of Object.entries(answer.sets ?? {})) {
        try {
          if (typeof set !== 'string')
            throw new SetReceiveError('invalid_request', 'the SET is not a string');
          await options.receiver.receive(set);
          ack.push(jti);
          accepted++;
        } catch (error) {
          if (!(error instanceof SetReceiveError)) throw error;
          if (error.duplicate) ack.push(jti);
          else if (error.err === null)
            throw error; // the JWKS is unreachable: leave it pending
          else {
            setErrs[jti] = { err: error.err, description: error.message };
            refused++;
          }
        }
      }
      if (!answer.moreAvailable) break;
    }
    // Acknowledge at once rather than with the next poll, so agent-sts records the delivery now.
    if (ack.length > 0 || Object.keys(setErrs).length > 0) await poll(0);
    return { accepted, refused };
  }

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = pollOnce()
        .catch((error: unknown) => options.onError?.(error))
        .finally(schedule);
    }, options.intervalMs ?? 5_000);
  };

  return {
    revocations: options.receiver.revocations,
    pollOnce,
    start() {
      stopped = false;
      running = pollOnce()
        .catch((error: unknown) => options.onError?.(error))
        .finally(schedule);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
