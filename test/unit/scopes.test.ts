import { describe, expect, it } from 'vitest';

import { formatScopes, MAX_SCOPE_TOKENS, parseScopeParameter } from '../../src/domain/index.js';
import type { OAuthErrorCode } from '../../src/domain/index.js';
import { expectRefusal } from './fixtures.js';

const many = (count: number) => Array.from({ length: count }, (_, i) => `s${i}`).join(' ');

describe('parseScopeParameter', () => {
  it.each<{ name: string; raw: string | undefined; want: string[] | null }>([
    {
      name: 'treats an absent parameter as no request (null), not as an empty one',
      raw: undefined,
      want: null,
    },
    { name: 'splits on spaces', raw: 'calendar.read mail.read', want: ['calendar.read', 'mail.read'] },
    { name: 'drops duplicates and keeps first-seen order', raw: 'b a b a', want: ['b', 'a'] },
    { name: 'tolerates leading, trailing and repeated spaces', raw: '  a   b ', want: ['a', 'b'] },
    { name: 'accepts every NQCHAR', raw: '!#[]~ urn:x:y/z?q=1', want: ['!#[]~', 'urn:x:y/z?q=1'] },
    {
      name: `accepts exactly ${MAX_SCOPE_TOKENS} tokens`,
      raw: many(MAX_SCOPE_TOKENS),
      want: many(100).split(' '),
    },
  ])('$name', ({ raw, want }) => {
    expect(parseScopeParameter(raw)).toEqual({ ok: true, value: want });
  });

  it.each<{ name: string; raw: string; error: OAuthErrorCode }>([
    { name: 'refuses an empty parameter', raw: '', error: 'invalid_scope' },
    { name: 'refuses a parameter of only spaces', raw: '   ', error: 'invalid_scope' },
    { name: 'refuses a TAB separator', raw: 'a\tb', error: 'invalid_scope' },
    { name: 'refuses CR or LF', raw: 'a\r\nb', error: 'invalid_scope' },
    { name: 'refuses a double quote', raw: 'a "b"', error: 'invalid_scope' },
    { name: 'refuses a backslash', raw: 'a\\b', error: 'invalid_scope' },
    { name: 'refuses non-ASCII', raw: 'caf\u00e9', error: 'invalid_scope' },
    {
      name: 'refuses one token more than the limit',
      raw: many(MAX_SCOPE_TOKENS + 1),
      error: 'invalid_request',
    },
    { name: 'refuses 10,000 tokens', raw: many(10_000), error: 'invalid_request' },
  ])('$name', ({ raw, error }) => {
    expectRefusal(parseScopeParameter(raw), 'invalid_parameters', error);
  });
});

describe('formatScopes', () => {
  it.each([
    { name: 'joins with single spaces', scopes: ['a', 'b', 'c'], want: 'a b c' },
    { name: 'formats one scope as itself', scopes: ['a'], want: 'a' },
    { name: 'formats no scopes as an empty string', scopes: [], want: '' },
  ])('$name', ({ scopes, want }) => {
    expect(formatScopes(scopes)).toBe(want);
  });

  it('round-trips through parseScopeParameter', () => {
    expect(parseScopeParameter(formatScopes(['x', 'y']))).toEqual({ ok: true, value: ['x', 'y'] });
  });
});
