import { describe, expect, it } from 'vitest';

import { isAgentId, isIssuerIdentifier, isResourceId } from '../../src/domain/index.js';

describe('isAgentId (CONTRACT §4)', () => {
  it.each<{ name: string; value: string; want: boolean }>([
    { name: 'accepts a generated id', value: 'agent-0f8e2c1a-1b2c-4d5e-8f90-123456789abc', want: true },
    { name: 'accepts the whole charset', value: 'A.z_0:9/-x', want: true },
    { name: 'accepts three characters', value: 'abc', want: true },
    { name: 'accepts 200 characters', value: 'a'.repeat(200), want: true },
    { name: 'refuses two characters', value: 'ab', want: false },
    { name: 'refuses 201 characters', value: 'a'.repeat(201), want: false },
    { name: 'refuses 50,000 characters', value: 'a'.repeat(50_000), want: false },
    { name: 'refuses a space', value: 'agent a', want: false },
    { name: 'refuses a percent sign', value: 'agent%20a', want: false },
    { name: 'refuses a line break', value: 'agent\na', want: false },
    { name: 'refuses non-ASCII', value: 'agént', want: false },
  ])('$name', ({ value, want }) => {
    expect(isAgentId(value)).toBe(want);
  });
});

describe('isResourceId', () => {
  it.each<{ name: string; value: string; want: boolean }>([
    { name: 'accepts a URI', value: 'https://api.example/v1', want: true },
    { name: 'accepts 500 characters', value: 'r'.repeat(500), want: true },
    { name: 'refuses 501 characters', value: 'r'.repeat(501), want: false },
    { name: 'refuses a query', value: 'https://api.example/?q=1', want: false },
  ])('$name', ({ value, want }) => {
    expect(isResourceId(value)).toBe(want);
  });
});

describe('isIssuerIdentifier', () => {
  it.each<{ name: string; value: string; want: boolean }>([
    { name: 'accepts an issuer URL', value: 'https://idp.example', want: true },
    { name: 'accepts 2,000 characters', value: 'i'.repeat(2000), want: true },
    { name: 'refuses 2,001 characters', value: 'i'.repeat(2001), want: false },
    { name: 'refuses the empty string', value: '', want: false },
  ])('$name', ({ value, want }) => {
    expect(isIssuerIdentifier(value)).toBe(want);
  });
});
