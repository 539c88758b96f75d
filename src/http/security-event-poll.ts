/**
 * `POST /security-events/poll` (RFC 8936): where a receiver registered with `delivery: poll`
 * fetches its revocation SETs, acknowledges the ones it processed (`ack`) and reports the ones it
 * refused (`setErrs`). Authenticated by the bearer secret the admin API returned once when the
 * receiver was registered. JSON in and out; errors are RFC 8936 §2.4 / RFC 8935 §2.3 objects
 * `{"err", "description"}`, never problem documents. Answers are never cached.
 *
 * SETs not acknowledged are sent again on the next poll (receivers drop duplicates by `jti`);
 * `returnImmediately` is honoured by always answering at once (no long polling), so the
 * propagation bound of poll mode is the receiver's poll interval.
 */
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { SET_ERROR_CODES } from '../domain/set-delivery.js';
import type { SetReceiver } from '../infra/security-events.js';
import { SET_POLL_PATH, signRevocationSet } from '../protocol/security-event-token.js';
import { isDatabaseUnavailable } from './problem.js';

const DEFAULT_MAX_EVENTS = 100;
const MAX_EVENTS = 1000;
const MAX_ACKS = 1000;

class PollError extends Error {
  constructor(
    readonly status: number,
    readonly err: string,
    description: string,
  ) {
    super(description);
  }
}

function send(reply: FastifyReply, status: number, err: string, description: string): FastifyReply {
  if (status === 401) reply.header('WWW-Authenticate', 'Bearer realm="agent-sts-security-events"');
  if (status === 503) reply.header('Retry-After', '5');
  return reply.code(status).header('Cache-Control', 'no-store').send({ err, description });
}

interface PollRequest {
  readonly maxEvents: number;
  readonly ack: readonly string[];
  readonly setErrs: ReadonlyMap<string, string>;
}

const invalid = (description: string) => new PollError(400, 'invalid_request', description);

function isJti(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 200;
}

/** RFC 8936 §2.4: `maxEvents`, `returnImmediately`, `ack`, `setErrs`; nothing else. */
function parsePoll(body: unknown): PollRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw invalid('the body must be a JSON object');
  const { maxEvents, returnImmediately, ack, setErrs, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw invalid(`unknown member ${unknown[0]!.slice(0, 50)}`);
  if (maxEvents !== undefined && !(Number.isInteger(maxEvents) && (maxEvents as number) >= 0)) {
    throw invalid('maxEvents must be a non-negative integer');
  }
  if (returnImmediately !== undefined && typeof returnImmediately !== 'boolean') {
    throw invalid('returnImmediately must be a boolean');
  }
  if (ack !== undefined && !(Array.isArray(ack) && ack.length <= MAX_ACKS && ack.every(isJti))) {
    throw invalid(`ack must be an array of at most ${MAX_ACKS} jti strings`);
  }
  const errors = new Map<string, string>();
  if (setErrs !== undefined) {
    if (typeof setErrs !== 'object' || setErrs === null || Array.isArray(setErrs)) {
      throw invalid('setErrs must be an object');
    }
    const entries = Object.entries(setErrs as Record<string, unknown>);
    if (entries.length > MAX_ACKS) throw invalid(`setErrs holds more than ${MAX_ACKS} members`);
    for (const [jti, value] of entries) {
      const { err, description } = (value ?? {}) as { err?: unknown; description?: unknown };
      if (
        !isJti(jti) ||
        typeof err !== 'string' ||
        (description !== undefined && typeof description !== 'string')
      ) {
        throw invalid('each setErrs member is {"err", "description"}');
      }
      const known = (SET_ERROR_CODES as readonly string[]).includes(err) ? err : 'unknown error code';
      errors.set(jti, description ? `${known}: ${description}` : known);
    }
  }
  return {
    maxEvents: Math.min((maxEvents as number | undefined) ?? DEFAULT_MAX_EVENTS, MAX_EVENTS),
    ack: (ack as string[] | undefined) ?? [],
    setErrs: errors,
  };
}

export async function securityEventPollRoutes(app: FastifyInstance): Promise<void> {
  const { config, securityEvents, keys } = app.sts;

  async function receiverOf(authorization: string | undefined): Promise<SetReceiver> {
    const match = /^Bearer ([\x21-\x7E]{1,200})$/.exec(authorization ?? '');
    const receiver = match ? await securityEvents.receiverByPollSecret(match[1]!) : null;
    if (!receiver)
      throw new PollError(401, 'authentication_failed', 'a valid receiver bearer secret is required');
    return receiver;
  }

  // Secrets are guessed here as at the token endpoint: the same per-address limit.
  const limitByAddress = app.rateLimit({
    max: config.tokenRateLimitPerAddress,
    timeWindow: 60_000,
    keyGenerator: (request) => `set-poll-addr:${request.ip}`,
    errorResponseBuilder: (_request, context) =>
      new PollError(429, 'rate_limit_exceeded', `too many requests, retry in ${context.after}`),
  });
  app.addHook('onRequest', async (request, reply) => {
    reply.header('Cache-Control', 'no-store');
    await limitByAddress.call(app, request, reply);
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof PollError) return send(reply, error.status, error.err, error.message);
    if (isDatabaseUnavailable(error)) return send(reply, 503, 'temporarily_unavailable', 'retry later');
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return send(reply, error.statusCode === 413 ? 413 : 400, 'invalid_request', 'the request is malformed');
    }
    request.log.error({ err: error }, 'unexpected error at the SET poll endpoint');
    return send(reply, 500, 'server_error', 'an unexpected error occurred');
  });

  app.post(
    SET_POLL_PATH,
    {
      schema: {
        summary: 'Poll revocation Security Event Tokens (RFC 8936)',
        description:
          'For receivers registered with delivery "poll": Authorization: Bearer <the receiver secret>. JSON body {"maxEvents"?, "returnImmediately"?, "ack"?: [jti], "setErrs"?: {jti: {"err", "description"}}}. Answers {"sets": {jti: SET}, "moreAvailable"} at once; a SET stays pending, and is sent again, until acknowledged.',
        tags: ['security events'],
      },
    },
    async (request) => {
      const receiver = await receiverOf(request.headers.authorization);
      const poll = parsePoll(request.body);
      await securityEvents.acknowledge(receiver, poll.ack, poll.setErrs);
      const pending = poll.maxEvents === 0 ? [] : await securityEvents.pending(receiver, poll.maxEvents + 1);
      const batch = pending.slice(0, poll.maxEvents);
      const key = keys().active;
      const sets: Record<string, string> = {};
      for (const event of batch) sets[event.jti] = await signRevocationSet(event, config.issuer, key);
      return { sets, moreAvailable: pending.length > batch.length };
    },
  );
}
