import { describe, expect, it } from 'vitest';

import {
  AUDIT_FIELD_MAX_CHARS,
  auditField,
  hasControlCharacter,
  nulCharacterPath,
  parameterWithControlCharacter,
} from '../../src/domain/index.js';

describe('auditField', () => {
  it.each([
    { name: 'keeps a plain value as it is', given: 'client_credentials', want: 'client_credentials' },
    { name: 'keeps null', given: null, want: null },
    { name: 'maps undefined to null', given: undefined, want: null },
    { name: 'replaces a NUL byte, which PostgreSQL text cannot store', given: 'a\u0000b', want: 'a\uFFFDb' },
    { name: 'replaces CR, LF and TAB', given: 'a\r\n\tb', want: 'a\uFFFD\uFFFD\uFFFDb' },
    { name: 'replaces DEL and C1 controls', given: 'a\u007F\u0085b', want: 'a\uFFFD\uFFFDb' },
    { name: 'replaces an unpaired surrogate', given: 'a\uD800b', want: 'a\uFFFDb' },
    { name: 'keeps a surrogate pair', given: 'a\u{1F600}b', want: 'a\u{1F600}b' },
    { name: 'keeps non-ASCII letters', given: 'café', want: 'café' },
  ])('$name', ({ given, want }) => {
    expect(auditField(given)).toBe(want);
  });

  it('keeps a value of exactly the cap', () => {
    const value = 'x'.repeat(AUDIT_FIELD_MAX_CHARS);
    expect(auditField(value)).toBe(value);
  });

  it('cuts a longer value at the cap and says how much was cut', () => {
    const stored = auditField('x'.repeat(50_000));
    expect(stored).toBe('x'.repeat(AUDIT_FIELD_MAX_CHARS) + `…[+${50_000 - AUDIT_FIELD_MAX_CHARS} chars]`);
  });

  it('counts code points, so a surrogate pair is never split by the cut', () => {
    const stored = auditField('\u{1F600}'.repeat(10), 3);
    expect(stored).toBe('\u{1F600}'.repeat(3) + '…[+7 chars]');
  });

  it('honours a caller-chosen cap', () => {
    expect(auditField('abcdef', 4)).toBe('abcd…[+2 chars]');
  });
});

describe('hasControlCharacter', () => {
  it.each([
    { given: 'plain', want: false },
    { given: 'with space', want: false },
    { given: 'café', want: false },
    { given: 'nul\u0000', want: true },
    { given: 'line\nfeed', want: true },
    { given: 'del\u007F', want: true },
    { given: 'c1\u0090', want: true },
  ])('$given → $want', ({ given, want }) => {
    expect(hasControlCharacter(given)).toBe(want);
  });
});

describe('parameterWithControlCharacter', () => {
  it('names the first parameter whose value holds a control character', () => {
    expect(parameterWithControlCharacter({ grant_type: 'client_credentials', scope: 'a\u0000' })).toBe(
      'scope',
    );
  });

  it('looks into repeated values', () => {
    expect(parameterWithControlCharacter({ audience: ['ok', 'bad\n'] })).toBe('audience');
  });

  it('is null for clean parameters and ignores values that are not strings', () => {
    expect(parameterWithControlCharacter({ scope: 'a b', resource: undefined, x: 1 })).toBeNull();
  });
});

describe('nulCharacterPath', () => {
  it.each([
    { name: 'a clean document', given: { a: ['x', { b: 'y' }], n: 1 }, want: null },
    { name: 'a NUL in a top-level string', given: 'a\u0000', want: '/' },
    { name: 'a NUL in a member', given: { name: 'a\u0000' }, want: '/name' },
    { name: 'a NUL in an array item', given: { list: ['ok', 'b\u0000'] }, want: '/list/1' },
    {
      name: 'a NUL in a key, escaped as RFC 6901 says',
      given: { 'a/b': { 'k\u0000': 1 } },
      want: '/a~1b/k\u0000',
    },
    { name: 'other control characters', given: { description: 'line\nbreak' }, want: null },
  ])('$name', ({ given, want }) => {
    expect(nulCharacterPath(given)).toBe(want);
  });

  it('walks a deeply nested document without exhausting the stack', () => {
    let deep: unknown = 'x\u0000';
    for (let level = 0; level < 100_000; level += 1) deep = [deep];
    expect(nulCharacterPath(deep)).toBe('/0'.repeat(100_000));
  });
});
