/**
 * What the three client-authenticated OAuth endpoints (token, introspection, revocation) share,
 * each in its own fastify scope: form bodies only (RFC 6749 §3.2, RFC 7662 §2.1, RFC 7009 §2.1),
 * `Cache-Control: no-store` and `Pragma: no-cache` on every answer (RFC 6749 §5.1), and errors as
 * `{"error", "error_description"}` (RFC 6749 §5.2), never problem documents.
 */
import * as querystring from 'node:querystring';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { ClientAuthenticationError, type FormParams } from '../protocol/client-authentication.js';
import { OAuthError, RateLimited, ServiceUnavailable } from '../protocol/errors.js';
import { isDatabaseUnavailable } from './problem.js';

/** RL-01: a token-endpoint request is a few kilobytes; anything over this is refused with 413. */
export const OAUTH_BODY_LIMIT = 64 * 1024;

/** Seconds a client is asked to wait after a 503. */
const RETRY_AFTER_UNAVAILABLE = '5';

/** A public, one-line description: never CR, LF or TAB (SECURITY-CASES, every negative case). */
function oneLine(text: string): string {
  return text.replace(/[^\x20-\x7E]+/g, ' ').trim();
}

/** The parsed form of a request: a repeated name is an array, as `querystring.parse` yields it. */
export function formParams(body: unknown): FormParams {
  return typeof body === 'object' && body !== null ? (body as FormParams) : {};
}

/** An error as the OAuth endpoints answer it: status, RFC code, one-line description. */
export interface OAuthAnswer {
  readonly status: number;
  readonly error: string;
  readonly description: string;
}

/** An error nobody expected: logged by the caller, answered without a word of what it was. */
export const UNEXPECTED_ERROR: OAuthAnswer = {
  status: 500,
  error: 'server_error',
  description: 'an unexpected error occurred',
};

/**
 * What any error thrown while serving an OAuth endpoint answers: its own code for the service's
 * errors, 503 for a dependency that failed, 413 and 400 `invalid_request` for fastify's own body
 * errors; null for anything unexpected (the caller logs it and answers UNEXPECTED_ERROR).
 */
export function oauthAnswerOf(error: unknown): OAuthAnswer | null {
  if (error instanceof ClientAuthenticationError || error instanceof OAuthError) {
    return { status: error.status, error: error.error, description: error.message };
  }
  if (isDatabaseUnavailable(error)) {
    const unavailable = new ServiceUnavailable();
    return { status: unavailable.status, error: unavailable.error, description: unavailable.message };
  }
  const { code, statusCode } = error as Partial<FastifyError>;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return { status: 413, error: 'invalid_request', description: 'the request body is too large' };
  }
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    const description = 'only application/x-www-form-urlencoded bodies are supported';
    return { status: 400, error: 'invalid_request', description };
  }
  if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
    return { status: 400, error: 'invalid_request', description: 'the request is malformed' };
  }
  return null;
}

export function sendOAuthError(
  reply: FastifyReply,
  answer: OAuthAnswer,
  options: { readonly basicRealm?: string; readonly error?: unknown } = {},
): FastifyReply {
  const description = oneLine(answer.description);
  if (answer.status === 503) reply.header('Retry-After', RETRY_AFTER_UNAVAILABLE);
  if (options.error instanceof RateLimited)
    reply.header('Retry-After', String(options.error.retryAfterSeconds));
  if (answer.status === 401 && options.basicRealm !== undefined) {
    // RFC 6749 §5.2: the client tried HTTP Basic, so the 401 names the scheme.
    reply.header(
      'WWW-Authenticate',
      `Basic realm="${options.basicRealm}", error="${answer.error}", error_description="${description}"`,
    );
  }
  return reply
    .code(answer.status)
    .header('Cache-Control', 'no-store')
    .header('Pragma', 'no-cache')
    .type('application/json; charset=utf-8')
    .send({ error: answer.error, error_description: description });
}

/**
 * Form bodies only, parsed by `querystring.parse` (a repeated name becomes an array; RFC 6749 §3.2
 * has each endpoint refuse what must not repeat), within OAUTH_BODY_LIMIT; no-store headers on
 * every answer of the scope.
 */
export function oauthScope(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: OAUTH_BODY_LIMIT },
    (_request, body, done) => done(null, querystring.parse(body as string)),
  );
  app.addHook('onRequest', async (_request, reply) => {
    reply.header('Cache-Control', 'no-store').header('Pragma', 'no-cache');
  });
}
