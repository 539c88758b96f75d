import { describe, expect, it } from 'vitest';

import { accept, refuse, RULE_ERRORS } from '../../src/domain/index.js';
import type { OAuthErrorCode, RuleCode } from '../../src/domain/index.js';

describe('refuse', () => {
  it.each([
    { name: 'keeps a plain description as it is', given: 'scope is empty', want: 'scope is empty' },
    { name: 'replaces CR and LF so no header or log line can be split', given: 'a\r\nb', want: 'a b' },
    { name: 'replaces a TAB', given: 'a\tb', want: 'a b' },
    { name: 'replaces quotes and backslashes outside the RFC 6749 set', given: 'a"b\\c', want: 'a b c' },
    { name: 'replaces non-ASCII characters', given: 'caf\u00e9 ok', want: 'caf ok' },
    { name: 'trims what replacement leaves at the ends', given: '\nx\n', want: 'x' },
    { name: 'collapses runs of spaces', given: 'a  \r\n  b', want: 'a b' },
  ])('$name', ({ given, want }) => {
    expect(refuse('invalid_parameters', 'invalid_request', given)).toEqual({
      ok: false,
      rule: 'invalid_parameters',
      error: 'invalid_request',
      description: want,
    });
  });

  it('returns a frozen refusal', () => {
    expect(Object.isFrozen(refuse('scope_empty', 'invalid_scope', 'x'))).toBe(true);
  });
});

describe('accept', () => {
  it.each([
    { name: 'wraps a value', value: ['a'] as unknown },
    { name: 'wraps null', value: null as unknown },
  ])('$name', ({ value }) => {
    expect(accept(value)).toEqual({ ok: true, value });
  });
});

describe('RULE_ERRORS', () => {
  it.each<{ rule: RuleCode; error: OAuthErrorCode | null }>([
    { rule: 'granted', error: null },
    { rule: 'client_authentication_failed', error: 'invalid_client' },
    { rule: 'grant_type_not_allowed', error: 'unauthorized_client' },
    { rule: 'subject_token_invalid', error: 'invalid_request' },
    { rule: 'actor_token_subject_mismatch', error: 'invalid_request' },
    { rule: 'delegation_cycle', error: 'invalid_request' },
    { rule: 'target_not_allowed', error: 'invalid_target' },
    { rule: 'scope_escalation', error: 'invalid_scope' },
    { rule: 'unavailable', error: null },
    { rule: 'dpop_nonce_missing', error: 'use_dpop_nonce' },
    { rule: 'dpop_nonce_invalid', error: 'use_dpop_nonce' },
  ])('maps $rule to $error', ({ rule, error }) => {
    expect(RULE_ERRORS[rule]).toBe(error);
  });

  it('cannot be changed at run time', () => {
    expect(Object.isFrozen(RULE_ERRORS)).toBe(true);
  });
});
