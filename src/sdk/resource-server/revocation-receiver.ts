/**
 * `createRevocationReceiver`: the receiving end of agent-sts revocation Security Event Tokens
 * (RFC 8417), pushed to this API over HTTP (RFC 8935) or fetched by `createRevocationPoller`
 * (RFC 8936). A SET is accepted only when every step holds, in this order:
 *
 * 1. (push) `Content-Type: application/secevent+jwt`, and the `Authorization` header the receiver
 *    was registered with, when it was given one;
 * 2. signature by a key of the issuer's JWKS (the same keys as its access tokens), ES256;
 * 3. header `typ: secevent+jwt`, `iss` the issuer, `aud` this receiver, `iat` at most `maxAge` old
 *    (agent-sts signs each SET when it sends it), a `jti`;
 * 4. `events` holds the agent-sts `tokens-revoked` event, well formed;
 * 5. its `jti` was never accepted before (RFC 8417 §2.2): a replayed SET is refused and changes
 *    nothing.
 *
 * Then its `jtis` and `txns` enter the deny-list (`revocations`) until the revoked tokens expire;
 * `verifyAgentToken(token, { revocations })` refuses them from then on.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { createAgentStsKeySet } from './key-set.js';
import { createMemoryReplayStore, type ReplayStore } from './replay-store.js';
import { createRevocationList, type RevocationList } from './revocation-list.js';

/** RFC 8417 §2.2 event type of agent-sts revocations. */
export const TOKENS_REVOKED_EVENT = 'https://agent-sts.dev/secevent/tokens-revoked';
export const SECEVENT_CONTENT_TYPE = 'application/secevent+jwt';
const SECEVENT_JWT_TYPE = 'secevent+jwt';
/** A SET body larger than this is refused unread (1,000 jtis are about 40 KiB). */
const MAX_BODY_BYTES = 256 * 1024;

/** RFC 8935 §2.4 error codes. */
export type SetErrorCode =
  | 'invalid_request'
  | 'invalid_key'
  | 'invalid_issuer'
  | 'invalid_audience'
  | 'authentication_failed'
  | 'access_denied';

/** Why a SET was refused: `err` and `status` are the RFC 8935 answer. */
export class SetReceiveError extends Error {
  override readonly name = 'SetReceiveError';
  readonly err: SetErrorCode | null;
  readonly status: number;
  /** The SET was valid but its `jti` had been accepted before. */
  readonly duplicate: boolean;

  constructor(
    err: SetErrorCode | null,
    message: string,
    options: { status?: number; duplicate?: boolean; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.err = err;
    this.status = options.status ?? (err === 'authentication_failed' ? 401 : err === null ? 503 : 400);
    this.duplicate = options.duplicate ?? false;
  }
}

/** One accepted revocation SET. */
export interface ReceivedRevocation {
  /** The SET's `jti`. */
  readonly id: string;
  readonly jtis: readonly string[];
  readonly txns: readonly string[];
  readonly reason: string;
  /** The latest `exp` of the revoked tokens. */
  readonly expiresAt: Date;
  /** When they were revoked (`toe`). */
  readonly revokedAt: Date | undefined;
}

export interface RevocationReceiverOptions {
  /** The agent-sts issuer identifier; `iss` must equal it. */
  readonly issuer: string;
  /** The SET audience this receiver was registered with at agent-sts; `aud` must hold it. */
  readonly audience: string;
  /** Default: `createAgentStsKeySet({ issuer })`. Share the one `verifyAgentToken` uses. */
  readonly keys?: JWTVerifyGetKey;
  /** Where revoked tokens go. Default: a new `createRevocationList()`. */
  readonly revocations?: RevocationList;
  /** Where accepted SET `jti`s are remembered (shared across instances: a Redis store). */
  readonly replayStore?: ReplayStore;
  /** The `Authorization` header value pushes must carry (what was registered at agent-sts). */
  readonly authorization?: string;
  /** How old a SET's `iat` may be, in seconds. Default 300. */
  readonly maxAge?: number;
  /** Clock skew allowed on `iat`, in seconds. Default 5. */
  readonly clockTolerance?: number;
  /**
   * The longest lifetime of an agent-sts token, in seconds (CONTRACT: at most 3600): a revoked
   * chain (`txn`) is held at least this long, so a token of it minted in a race is refused too.
   */
  readonly maxTokenLifetime?: number;
  /** Told of every accepted SET. */
  readonly onRevocation?: (revocation: ReceivedRevocation) => void;
}

export interface PushRequest {
  readonly contentType?: string | undefined;
  readonly authorization?: string | undefined;
  readonly body: string;
}

export interface PushAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface RevocationReceiver {
  /** The deny-list to give `verifyAgentToken` as `revocations`. */
  readonly revocations: RevocationList;
  /** Verifies one SET and applies it; throws SetReceiveError when refused. */
  receive(set: string): Promise<ReceivedRevocation>;
  /** The RFC 8935 answer to one push: 202, or 400/401/503 with `{"err", "description"}`. */
  answer(request: PushRequest): Promise<PushAnswer>;
  /** A Node `http` request listener answering pushes (`http.createServer(receiver.handler)`, Express). */
  readonly handler: (request: IncomingMessage, response: ServerResponse) => void;
}

function refuse(err: SetErrorCode, message: string, cause?: unknown): SetReceiveError {
  return new SetReceiveError(err, message, { cause });
}

function joseFailure(cause: unknown): SetReceiveError {
  if (cause instanceof SetReceiveError) return cause;
  if (cause instanceof errors.JWTClaimValidationFailed) {
    if (cause.claim === 'iss') return refuse('invalid_issuer', 'the SET is from another issuer', cause);
    if (cause.claim === 'aud') return refuse('invalid_audience', 'the SET is for another audience', cause);
    return refuse('invalid_request', `the SET ${cause.claim} is missing or invalid`, cause);
  }
  if (cause instanceof errors.JWTExpired) return refuse('invalid_request', 'the SET is too old', cause);
  if (
    cause instanceof errors.JWSSignatureVerificationFailed ||
    cause instanceof errors.JWKSNoMatchingKey ||
    cause instanceof errors.JOSEAlgNotAllowed
  ) {
    return refuse('invalid_key', 'the SET is not signed by a key of the issuer', cause);
  }
  if (
    cause instanceof errors.JWKSTimeout ||
    cause instanceof errors.JWKSInvalid ||
    cause instanceof TypeError
  ) {
    return new SetReceiveError(null, 'the issuer JWKS could not be fetched', { cause });
  }
  if (cause instanceof Error && cause.name === 'AgentTokenError') {
    return new SetReceiveError(null, 'the issuer metadata could not be fetched', { cause });
  }
  return refuse('invalid_request', 'the SET is not a well-formed JWT', cause);
}

function stringList(value: unknown, name: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item !== '')) {
    throw refuse('invalid_request', `the event ${name} must be an array of strings`);
  }
  return value as string[];
}

/** Step 4: the one event this receiver understands, well formed. */
function readEvent(payload: JWTPayload): Omit<ReceivedRevocation, 'id'> {
  const events = payload.events;
  if (typeof events !== 'object' || events === null || Array.isArray(events)) {
    throw refuse('invalid_request', 'the SET has no events object');
  }
  const event = (events as Record<string, unknown>)[TOKENS_REVOKED_EVENT];
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw refuse('invalid_request', 'the SET holds no tokens-revoked event');
  }
  const { jtis, txns, reason, expires_at: expiresAt } = event as Record<string, unknown>;
  const revoked = { jtis: stringList(jtis, 'jtis'), txns: stringList(txns, 'txns') };
  if (revoked.jtis.length + revoked.txns.length === 0)
    throw refuse('invalid_request', 'the event revokes nothing');
  if (typeof reason !== 'string') throw refuse('invalid_request', 'the event has no reason');
  if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)) {
    throw refuse('invalid_request', 'the event has no expires_at');
  }
  return {
    ...revoked,
    reason,
    expiresAt: new Date(expiresAt * 1000),
    revokedAt: typeof payload.toe === 'number' ? new Date(payload.toe * 1000) : undefined,
  };
}

function sameSecret(presented: string | undefined, expected: string): boolean {
  const a = Buffer.from(presented ?? '');
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

async function readBody(request: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function createRevocationReceiver(options: RevocationReceiverOptions): RevocationReceiver {
  if (typeof options.audience !== 'string' || options.audience === '') {
    throw new TypeError('audience must be one non-empty string');
  }
  const keys = options.keys ?? createAgentStsKeySet({ issuer: options.issuer });
  const revocations = options.revocations ?? createRevocationList();
  const seen = options.replayStore ?? createMemoryReplayStore();
  const maxAge = options.maxAge ?? 300;
  const clockTolerance = options.clockTolerance ?? 5;
  const maxTokenLifetime = options.maxTokenLifetime ?? 3600;

  async function receive(set: string): Promise<ReceivedRevocation> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(set, keys, {
        issuer: options.issuer,
        audience: options.audience,
        typ: SECEVENT_JWT_TYPE,
        algorithms: ['ES256'],
        maxTokenAge: maxAge,
        clockTolerance,
        requiredClaims: ['iss', 'aud', 'iat', 'jti'],
      }));
    } catch (cause) {
      throw joseFailure(cause);
    }
    const revocation = { id: payload.jti!, ...readEvent(payload) };
    // Only a SET that verified spends its jti, so a forged one cannot block the real one.
    const keepUntil = new Date(Date.now() + (maxAge + clockTolerance) * 1000);
    if (!(await seen.claim(`set:${revocation.id}`, keepUntil))) {
      throw new SetReceiveError('invalid_request', 'the SET jti was already received', { duplicate: true });
    }
    revocations.add({ jtis: revocation.jtis, until: revocation.expiresAt });
    const chainUntil = Math.max(revocation.expiresAt.getTime(), Date.now() + maxTokenLifetime * 1000);
    revocations.add({ txns: revocation.txns, until: new Date(chainUntil) });
    options.onRevocation?.(revocation);
    return revocation;
  }

  const errorAnswer = (error: SetReceiveError): PushAnswer =>
    error.err === null
      ? { status: error.status, headers: { 'retry-after': '5' }, body: '' }
      : {
          status: error.status,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ err: error.err, description: error.message }),
        };

  async function answer(request: PushRequest): Promise<PushAnswer> {
    try {
      if (options.authorization !== undefined && !sameSecret(request.authorization, options.authorization)) {
        throw refuse('authentication_failed', 'the push did not carry the expected authorization');
      }
      if (mediaType(request.contentType) !== SECEVENT_CONTENT_TYPE) {
        throw refuse('invalid_request', `the body must be ${SECEVENT_CONTENT_TYPE}`);
      }
      await receive(request.body.trim());
      return { status: 202, headers: {}, body: '' };
    } catch (error) {
      if (error instanceof SetReceiveError) return errorAnswer(error);
      throw error;
    }
  }

  const handler = (request: IncomingMessage, response: ServerResponse): void => {
    const reply = ({ status, headers, body }: PushAnswer) => {
      response.writeHead(status, { 'cache-control': 'no-store', ...headers });
      response.end(body);
    };
    if (request.method !== 'POST') {
      reply({ status: 405, headers: { allow: 'POST' }, body: '' });
      return;
    }
    readBody(request)
      .then((body) =>
        body === null
          ? errorAnswer(refuse('invalid_request', 'the body is too large'))
          : answer({
              contentType: request.headers['content-type'],
              authorization: request.headers.authorization,
              body,
            }),
      )
      .then(reply, () => reply({ status: 500, headers: {}, body: '' }));
  };

  return { revocations, receive, answer, handler };
}
