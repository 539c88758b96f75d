/**
 * RFC 9457 problem documents for every non-OAuth route, and the one fastify error handler that
 * produces them. Details never include stack traces or SQL; unexpected errors are logged and
 * answered with a generic 500; an unreachable database answers 503 (fail closed).
 */
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  /** Stable machine-readable code clients can switch on. */
  readonly code: string;
  readonly detail?: string;
  readonly errors?: readonly { readonly path: string; readonly message: string }[];
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** An error that becomes a problem document with its own status and stable code. */
export class ProblemError extends Error {
  readonly status: number;
  readonly code: string;
  readonly errors: Problem['errors'];

  constructor(status: number, code: string, detail: string, errors?: Problem['errors']) {
    super(detail);
    this.status = status;
    this.code = code;
    this.errors = errors;
  }
}

export function sendProblem(reply: FastifyReply, problem: Omit<Problem, 'type' | 'title'>): FastifyReply {
  const body: Problem = {
    type: `https://agent-sts.dev/problems/${problem.code}`,
    title: TITLES[problem.status] ?? 'Error',
    ...problem,
  };
  if (problem.status === 401) reply.header('WWW-Authenticate', 'Bearer realm="agent-sts-admin"');
  if (problem.status === 503) reply.header('Retry-After', '5');
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).header('Cache-Control', 'no-store').send(body);
}

/** Prisma and driver errors that mean the database is away or overloaded, not a bad request. */
export function isDatabaseUnavailable(error: unknown): boolean {
  const text = `${(error as { name?: string })?.name ?? ''} ${(error as { code?: string })?.code ?? ''} ${(error as Error)?.message ?? ''}`;
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|timeout|Connection terminated|DatabaseNotReachable|P1001|P1002|P1017|P2024|DriverAdapterError|ENOTFOUND|pool/i.test(
    text,
  );
}

/** Stable codes for fastify's own client errors, instead of its internal `FST_ERR_*` names. */
const FASTIFY_CLIENT_ERROR_CODES: Record<string, string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
};

export function registerProblemHandlers(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, {
      status: 404,
      code: 'not_found',
      detail: `no route for ${request.method} ${request.url.split('?')[0]}`,
    }),
  );
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof ProblemError) {
      return sendProblem(reply, {
        status: error.status,
        code: error.code,
        detail: error.message,
        errors: error.errors,
      });
    }
    if (error.validation) {
      return sendProblem(reply, {
        status: 400,
        code: 'validation_failed',
        detail: 'the request does not match the schema',
        errors: error.validation.map((issue) => ({
          path:
            issue.instancePath ||
            `/${String((issue.params as { missingProperty?: string; additionalProperty?: string })?.additionalProperty ?? (issue.params as { missingProperty?: string })?.missingProperty ?? '')}`,
          message: issue.message ?? 'invalid',
        })),
      });
    }
    if (error.statusCode === 429) {
      return sendProblem(reply, {
        status: 429,
        code: 'rate_limited',
        detail: 'too many requests, retry later',
      });
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      // fastify's own client errors: malformed JSON, body too large, unsupported media type.
      return sendProblem(reply, {
        status: error.statusCode,
        code: FASTIFY_CLIENT_ERROR_CODES[error.code] ?? (error.code ?? 'bad_request').toLowerCase(),
        detail: error.message,
      });
    }
    if (isDatabaseUnavailable(error)) {
      request.log.error({ err: error }, 'database unavailable');
      return sendProblem(reply, {
        status: 503,
        code: 'unavailable',
        detail: 'the service is temporarily unavailable',
      });
    }
    request.log.error({ err: error }, 'unexpected error');
    return sendProblem(reply, {
      status: 500,
      code: 'internal_error',
      detail: 'an unexpected error occurred',
    });
  });
}
