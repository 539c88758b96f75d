/** The resource server's local deny-list (ADR 0026), with a clock of its own. */
import { describe, expect, it } from 'vitest';
import { createRevocationList } from '../../../src/sdk/resource-server/revocation-list.js';

function clock(start = 1_000_000) {
  let time = start;
  return { now: () => time, advance: (ms: number) => (time += ms) };
}

const token = (jti: string, txn?: string, act?: unknown) => ({ jti, txn, claims: act ? { act } : {} });

describe('createRevocationList', () => {
  it.each([
    ['a listed jti', { jtis: ['j1'] }, token('j1', 't9'), 'jti'],
    ['a listed txn', { txns: ['t1'] }, token('j9', 't1'), 'txn'],
    ['a jti in the act chain', { jtis: ['parent'] }, token('j9', 't9', { sub: 'b', jti: 'parent' }), 'jti'],
    [
      'a deeper act jti',
      { jtis: ['root'] },
      token('j9', 't9', { sub: 'b', act: { sub: 'a', jti: 'root' } }),
      'jti',
    ],
    ['another jti', { jtis: ['j1'] }, token('j2', 't1'), null],
    ['a token without txn', { txns: ['t1'] }, token('j2'), null],
  ] as const)('matches %s', (_, entries, presented, expected) => {
    const time = clock();
    const list = createRevocationList({ now: time.now });
    list.add({ ...entries, until: new Date(time.now() + 60_000) });
    expect(list.match(presented)).toBe(expected);
    expect(list.isRevoked(presented)).toBe(expected !== null);
  });

  it('forgets an entry once its tokens expired and the tolerance passed', () => {
    const time = clock();
    const list = createRevocationList({ now: time.now, clockTolerance: 10 });
    list.add({ jtis: ['j1'], until: new Date(time.now() + 60_000) });
    time.advance(69_000);
    expect(list.match(token('j1'))).toBe('jti');
    time.advance(2_000);
    expect(list.match(token('j1'))).toBeNull();
    expect(list.size).toBe(0);
  });

  it('does not add entries whose tokens already expired', () => {
    const time = clock();
    const list = createRevocationList({ now: time.now, clockTolerance: 0 });
    list.add({ jtis: ['j1'], until: new Date(time.now() - 1) });
    expect(list.size).toBe(0);
  });

  it('keeps the later expiry when an entry is added twice', () => {
    const time = clock();
    const list = createRevocationList({ now: time.now, clockTolerance: 0 });
    list.add({ jtis: ['j1'], until: new Date(time.now() + 100_000) });
    list.add({ jtis: ['j1'], until: new Date(time.now() + 10_000) });
    time.advance(50_000);
    expect(list.match(token('j1'))).toBe('jti');
  });

  it('stays within maxEntries, dropping the entry that expires first', () => {
    const time = clock();
    const list = createRevocationList({ now: time.now, maxEntries: 2, clockTolerance: 0 });
    list.add({ jtis: ['soon'], until: new Date(time.now() + 10_000) });
    list.add({ jtis: ['late'], until: new Date(time.now() + 90_000) });
    list.add({ jtis: ['middle'], until: new Date(time.now() + 50_000) });
    expect(list.size).toBe(2);
    expect(list.match(token('soon'))).toBeNull();
    expect(list.match(token('late'))).toBe('jti');
    expect(list.match(token('middle'))).toBe('jti');
  });
});
