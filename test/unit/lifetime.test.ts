import { describe, expect, it } from 'vitest';

import { tokenLifetime } from '../../src/domain/index.js';
import { expectRefusal, NOW } from './fixtures.js';

describe('tokenLifetime', () => {
  it.each<{ name: string; ttlSeconds: number; notAfter: number[]; exp: number }>([
    { name: 'lasts the TTL when there is no input token', ttlSeconds: 300, notAfter: [], exp: NOW + 300 },
    {
      name: 'lasts the TTL when the input outlives it',
      ttlSeconds: 300,
      notAfter: [NOW + 3600],
      exp: NOW + 300,
    },
    {
      name: 'never outlives the subject token (TO-05)',
      ttlSeconds: 300,
      notAfter: [NOW + 60],
      exp: NOW + 60,
    },
    {
      name: 'never outlives the shortest input token',
      ttlSeconds: 300,
      notAfter: [NOW + 200, NOW + 30],
      exp: NOW + 30,
    },
    {
      name: 'accepts an input expiring one second from now',
      ttlSeconds: 300,
      notAfter: [NOW + 1],
      exp: NOW + 1,
    },
    {
      name: 'rounds a fractional input expiry down to whole seconds',
      ttlSeconds: 300,
      notAfter: [NOW + 120.75],
      exp: NOW + 120,
    },
  ])('$name', ({ ttlSeconds, notAfter, exp }) => {
    expect(tokenLifetime({ now: NOW, ttlSeconds, notAfter })).toEqual({ ok: true, value: { iat: NOW, exp } });
  });

  it.each<{ name: string; ttlSeconds: number; notAfter: number[] }>([
    { name: 'refuses an input token expiring now', ttlSeconds: 300, notAfter: [NOW] },
    { name: 'refuses an input token already expired', ttlSeconds: 300, notAfter: [NOW - 10] },
    {
      name: 'refuses when one of several inputs has expired',
      ttlSeconds: 300,
      notAfter: [NOW + 100, NOW - 1],
    },
    {
      name: 'refuses an input with less than a whole second left',
      ttlSeconds: 300,
      notAfter: [NOW + 0.5],
    },
    { name: 'refuses a zero TTL', ttlSeconds: 0, notAfter: [] },
    { name: 'refuses an uncomputable lifetime (NaN)', ttlSeconds: Number.NaN, notAfter: [] },
    { name: 'refuses an unreadable input expiry (NaN)', ttlSeconds: 300, notAfter: [Number.NaN] },
    { name: 'refuses an unbounded lifetime', ttlSeconds: Number.POSITIVE_INFINITY, notAfter: [] },
  ])('$name', ({ ttlSeconds, notAfter }) => {
    expectRefusal(
      tokenLifetime({ now: NOW, ttlSeconds, notAfter }),
      'subject_token_invalid',
      'invalid_request',
    );
  });
});
