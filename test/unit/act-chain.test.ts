import { describe, expect, it } from 'vitest';

import { buildActClaim, flattenActClaim } from '../../src/domain/index.js';
import type { ActClaim } from '../../src/domain/index.js';
import { expectRefusal } from './fixtures.js';

/** `depth` levels of `{ sub, act: ... }`, built without recursion. */
function nestedAct(depth: number): unknown {
  let claim: unknown = undefined;
  for (let i = 0; i < depth; i += 1)
    claim = claim === undefined ? { sub: `a${i}` } : { sub: `a${i}`, act: claim };
  return claim;
}

describe('buildActClaim', () => {
  it.each<{ name: string; actors: string[]; want: ActClaim | null }>([
    { name: 'gives no claim for an empty chain', actors: [], want: null },
    { name: 'gives a single level for one actor', actors: ['a'], want: { sub: 'a' } },
    { name: 'puts the newest actor outermost', actors: ['a', 'b'], want: { sub: 'b', act: { sub: 'a' } } },
    {
      name: 'nests three actors oldest innermost',
      actors: ['a', 'b', 'c'],
      want: { sub: 'c', act: { sub: 'b', act: { sub: 'a' } } },
    },
  ])('$name', ({ actors, want }) => {
    expect(buildActClaim(actors)).toEqual(want);
  });
});

describe('flattenActClaim', () => {
  it.each<{ name: string; raw: unknown; maxDepth: number; want: string[] }>([
    { name: 'reads an absent claim as an empty chain', raw: undefined, maxDepth: 4, want: [] },
    { name: 'reads one level', raw: { sub: 'a' }, maxDepth: 4, want: ['a'] },
    {
      name: 'returns actors oldest first',
      raw: { sub: 'b', act: { sub: 'a' } },
      maxDepth: 4,
      want: ['a', 'b'],
    },
    {
      name: 'ignores every member but sub and act (TO-04)',
      raw: { sub: 'b', exp: 1, aud: 'x', client_id: 'z', act: { sub: 'a', iss: 'https://evil' } },
      maxDepth: 4,
      want: ['a', 'b'],
    },
    {
      name: 'accepts a chain exactly maxDepth deep',
      raw: nestedAct(3),
      maxDepth: 3,
      want: ['a0', 'a1', 'a2'],
    },
    {
      name: 'accepts a null-prototype object',
      raw: Object.assign(Object.create(null), { sub: 'a' }),
      maxDepth: 1,
      want: ['a'],
    },
  ])('$name', ({ raw, maxDepth, want }) => {
    expect(flattenActClaim(raw, maxDepth)).toEqual({ ok: true, value: want });
  });

  it.each<{ name: string; raw: unknown; maxDepth?: number }>([
    { name: 'refuses a chain one level deeper than maxDepth', raw: nestedAct(4), maxDepth: 3 },
    { name: 'refuses any act when maxDepth is 0', raw: { sub: 'a' }, maxDepth: 0 },
    { name: 'refuses null', raw: null },
    { name: 'refuses a string', raw: 'agent-a' },
    { name: 'refuses an array', raw: [{ sub: 'a' }] },
    { name: 'refuses a class instance', raw: new Date(0) },
    { name: 'refuses a level without sub', raw: { act: { sub: 'a' } } },
    { name: 'refuses an empty sub', raw: { sub: '' } },
    { name: 'refuses a non-string sub', raw: { sub: 42 } },
    { name: 'refuses an inherited sub', raw: Object.create({ sub: 'a' }) as unknown },
    { name: 'refuses a nested act of null', raw: { sub: 'b', act: null } },
    { name: 'refuses a nested act that is a string', raw: { sub: 'b', act: 'a' } },
    { name: 'refuses a malformed level deep inside', raw: { sub: 'c', act: { sub: 'b', act: { sub: [] } } } },
  ])('$name', ({ raw, maxDepth }) => {
    expectRefusal(flattenActClaim(raw, maxDepth ?? 4), 'subject_token_invalid', 'invalid_request');
  });

  it('fails fast on a claim nested 10,000 levels deep, without recursion', () => {
    const raw = nestedAct(10_000);
    const started = performance.now();
    expectRefusal(flattenActClaim(raw, 5), 'subject_token_invalid', 'invalid_request');
    expect(performance.now() - started).toBeLessThan(50);
  });

  it('walks a deep legitimate chain without recursion', () => {
    expect(expectLength(flattenActClaim(nestedAct(100_000), 100_000))).toBe(100_000);
  });

  it.each([[[]], [['a']], [['a', 'b', 'c']]])('round-trips buildActClaim(%j)', (actors) => {
    expect(flattenActClaim(buildActClaim(actors) ?? undefined, 10)).toEqual({ ok: true, value: actors });
  });
});

function expectLength(result: ReturnType<typeof flattenActClaim>): number {
  return result.ok ? result.value.length : -1;
}
