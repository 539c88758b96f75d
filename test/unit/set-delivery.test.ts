/** ADR 0026: how a push of a revocation SET ends, and when it is tried again. */
import { describe, expect, it } from 'vitest';
import {
  judgePushAnswer,
  retryDelayMs,
  type PushAnswer,
  type PushVerdict,
} from '../../src/domain/set-delivery.js';

const policy = { baseDelayMs: 1_000, maxDelayMs: 60_000, maxAttempts: 5 };

describe('retryDelayMs', () => {
  it.each([
    [1, 1_000],
    [2, 2_000],
    [3, 4_000],
    [6, 32_000],
    [7, 60_000],
    [100, 60_000],
    [0, 1_000],
  ])('after attempt %i waits %i ms', (attempt, delay) => {
    expect(retryDelayMs(attempt, policy)).toBe(delay);
  });
});

describe('judgePushAnswer', () => {
  const cases: Array<[string, PushAnswer, number, PushVerdict]> = [
    ['202 is delivered', { kind: 'response', status: 202 }, 1, { kind: 'delivered' }],
    ['202 on the last attempt is delivered', { kind: 'response', status: 202 }, 5, { kind: 'delivered' }],
    [
      '200 is not the protocol: retried',
      { kind: 'response', status: 200 },
      1,
      { kind: 'retry', delayMs: 1_000, error: 'answered 200' },
    ],
    [
      '400 with an RFC 8935 err is refused for good',
      { kind: 'response', status: 400, err: 'invalid_audience' },
      1,
      { kind: 'failed', error: 'refused: invalid_audience' },
    ],
    [
      '400 without a known err is retried',
      { kind: 'response', status: 400, err: 'whatever' },
      2,
      { kind: 'retry', delayMs: 2_000, error: 'answered 400' },
    ],
    [
      '401 is retried (credentials can be fixed)',
      { kind: 'response', status: 401 },
      1,
      { kind: 'retry', delayMs: 1_000, error: 'answered 401' },
    ],
    [
      '503 is retried',
      { kind: 'response', status: 503 },
      3,
      { kind: 'retry', delayMs: 4_000, error: 'answered 503' },
    ],
    [
      'no connection is retried',
      { kind: 'unreachable', reason: 'ECONNREFUSED' },
      1,
      { kind: 'retry', delayMs: 1_000, error: 'unreachable: ECONNREFUSED' },
    ],
    [
      'the last failed attempt gives up',
      { kind: 'unreachable', reason: 'ECONNREFUSED' },
      5,
      { kind: 'failed', error: 'unreachable: ECONNREFUSED; gave up after 5 attempts' },
    ],
    [
      'a 5xx on the last attempt gives up',
      { kind: 'response', status: 500 },
      5,
      { kind: 'failed', error: 'answered 500; gave up after 5 attempts' },
    ],
  ];
  it.each(cases)('%s', (_, answer, attempt, verdict) => {
    expect(judgePushAnswer(answer, attempt, policy)).toEqual(verdict);
  });
});
