/**
 * What can go wrong in the CLI, and the exit code each outcome gives scripts (README, "Admin
 * CLI"). HTTP answers map by status class; everything that is not an answer maps by cause.
 */

export const EXIT_CODES = {
  ok: 0,
  /** A bug or an answer the CLI cannot understand. */
  internal: 1,
  /** Bad flags or arguments, an unreadable input file: nothing was sent. */
  usage: 2,
  /** 404: no such agent, resource, trusted issuer, key, token or chain. */
  notFound: 3,
  /** 401 or 403, or no admin token configured. */
  auth: 4,
  /** Any other 4xx: validation (400), conflict (409), … The request changed nothing. */
  rejected: 5,
  /** 5xx, 429, a refused connection or a timeout: try again later. */
  unavailable: 6,
  /** `token inspect --verify`: the token did not verify. */
  invalidToken: 7,
} as const;

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** An RFC 9457 problem document, as the admin API answers errors. */
export interface Problem {
  readonly type?: string;
  readonly title?: string;
  readonly status?: number;
  readonly code?: string;
  readonly detail?: string;
  readonly errors?: readonly { readonly path: string; readonly message: string }[];
}

/** Wrong flags, arguments or input files: found before anything is sent. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** No admin token in the environment or a file. */
export class MissingCredentialsError extends Error {
  override readonly name = 'MissingCredentialsError';
}

/** The server answered with an error status. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  /** The problem document, when the answer was one (else null). */
  readonly problem: Problem | null;

  constructor(status: number, problem: Problem | null, text: string) {
    super(problem?.detail ?? problem?.title ?? (text.trim().slice(0, 200) || `HTTP ${status}`));
    this.status = status;
    this.problem = problem;
  }
}

/** No answer at all: connection refused, DNS failure, timeout. */
export class NetworkError extends Error {
  override readonly name = 'NetworkError';
}

/** `token inspect --verify`: the signature, issuer or times did not hold. */
export class TokenInvalidError extends Error {
  override readonly name = 'TokenInvalidError';
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export function exitCodeForStatus(status: number): ExitCode {
  if (status === 404) return EXIT_CODES.notFound;
  if (status === 401 || status === 403) return EXIT_CODES.auth;
  if (status === 429 || status >= 500) return EXIT_CODES.unavailable;
  if (status >= 400) return EXIT_CODES.rejected;
  return EXIT_CODES.internal;
}

export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof UsageError) return EXIT_CODES.usage;
  if (error instanceof MissingCredentialsError) return EXIT_CODES.auth;
  if (error instanceof ApiError) return exitCodeForStatus(error.status);
  if (error instanceof NetworkError) return EXIT_CODES.unavailable;
  if (error instanceof TokenInvalidError) return EXIT_CODES.invalidToken;
  return EXIT_CODES.internal;
}

/** The lines an error prints on stderr for a person. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    const problem = error.problem;
    if (problem === null) return `error: HTTP ${error.status}: ${error.message}`;
    const head = `error: ${problem.title ?? 'Error'} (${problem.status ?? error.status}${problem.code ? `, ${problem.code}` : ''})`;
    const lines = [head];
    if (problem.detail) lines.push(`  ${problem.detail}`);
    for (const item of problem.errors ?? []) lines.push(`  ${item.path || '/'}: ${item.message}`);
    return lines.join('\n');
  }
  if (error instanceof TokenInvalidError)
    return `error: the token did not verify (${error.code}): ${error.message}`;
  if (error instanceof Error && error.name !== 'Error') return `error: ${error.message}`;
  return `error: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
}
