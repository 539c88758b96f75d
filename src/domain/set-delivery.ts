/**
 * How one push of a revocation Security Event Token ended, and what happens next (ADR 0026). Pure:
 * the receiver's answer (or the network failure), the attempt number and the policy decide.
 *
 * - RFC 8935 §2.2: 202 Accepted is the one answer that means delivered. Any other 2xx is not the
 *   protocol (a catch-all endpoint, a proxy page) and is retried like a failure.
 * - RFC 8935 §2.3: a 400 with an `err` code is the receiver refusing this SET; the same SET would be
 *   refused again, so it is not retried (the audit row names the code).
 * - Anything else (no connection, a timeout, 401/403, 5xx, ...) is retried with exponential backoff,
 *   until `maxAttempts` is reached; then the SET is given up.
 */

/** RFC 8935 §2.4 error codes (IANA "Security Event Token Error Codes"). */
export const SET_ERROR_CODES = [
  'invalid_request',
  'invalid_key',
  'invalid_issuer',
  'invalid_audience',
  'authentication_failed',
  'access_denied',
] as const;
export type SetErrorCode = (typeof SET_ERROR_CODES)[number];

export interface RetryPolicy {
  /** The delay after the first failed attempt; doubled after each further one. */
  readonly baseDelayMs: number;
  /** The longest delay between two attempts. */
  readonly maxDelayMs: number;
  /** Attempts in all, the first included; the last failure gives the SET up. */
  readonly maxAttempts: number;
}

export type PushAnswer =
  | { readonly kind: 'response'; readonly status: number; readonly err?: string | undefined }
  | { readonly kind: 'unreachable'; readonly reason: string };

export type PushVerdict =
  | { readonly kind: 'delivered' }
  | { readonly kind: 'retry'; readonly delayMs: number; readonly error: string }
  | { readonly kind: 'failed'; readonly error: string };

/** Delay before attempt `attempt + 1` after attempt `attempt` (from 1) failed. */
export function retryDelayMs(attempt: number, policy: RetryPolicy): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  return Math.min(policy.baseDelayMs * 2 ** exponent, policy.maxDelayMs);
}

function isSetErrorCode(value: string | undefined): value is SetErrorCode {
  return (SET_ERROR_CODES as readonly string[]).includes(value ?? '');
}

export function judgePushAnswer(answer: PushAnswer, attempt: number, policy: RetryPolicy): PushVerdict {
  if (answer.kind === 'response' && answer.status === 202) return { kind: 'delivered' };
  if (answer.kind === 'response' && answer.status === 400 && isSetErrorCode(answer.err)) {
    return { kind: 'failed', error: `refused: ${answer.err}` };
  }
  const error = answer.kind === 'unreachable' ? `unreachable: ${answer.reason}` : `answered ${answer.status}`;
  if (attempt >= policy.maxAttempts)
    return { kind: 'failed', error: `${error}; gave up after ${attempt} attempts` };
  return { kind: 'retry', delayMs: retryDelayMs(attempt, policy), error };
}
