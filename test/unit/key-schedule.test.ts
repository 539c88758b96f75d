import { describe, expect, it } from 'vitest';

import { scheduleKeys, type KeyPolicy, type KeyStateRow } from '../../src/infra/signing-keys.js';

const NOW = new Date('2026-06-01T12:00:00Z');
const POLICY: KeyPolicy = { rotationDelaySeconds: 300, retiredKeyGraceSeconds: 4200 };

/** `seconds` relative to NOW (negative: in the past). */
function at(seconds: number): Date {
  return new Date(NOW.getTime() + seconds * 1000);
}

function row(
  kid: string,
  state: string,
  created: number,
  times: { retired?: number; revoked?: number } = {},
): KeyStateRow {
  return {
    kid,
    state,
    createdAt: at(created),
    activatedAt: state === 'active' ? at(created) : null,
    retiredAt: times.retired === undefined ? null : at(times.retired),
    revokedAt: times.revoked === undefined ? null : at(times.revoked),
  };
}

describe('scheduleKeys', () => {
  it.each<{
    name: string;
    rows: KeyStateRow[];
    policy?: KeyPolicy;
    promote: string | null;
    retire: string[];
    active: string | null;
    published: string[];
  }>([
    {
      name: 'keeps a lone active key and publishes it',
      rows: [row('a', 'active', -1000)],
      promote: null,
      retire: [],
      active: 'a',
      published: ['a'],
    },
    {
      name: 'publishes a next key before its delay has passed, still signing with the active one (KM-02)',
      rows: [row('a', 'active', -1000), row('n', 'next', -299)],
      promote: null,
      retire: [],
      active: 'a',
      published: ['a', 'n'],
    },
    {
      name: 'promotes a next key once its delay has passed and retires the active one',
      rows: [row('a', 'active', -1000), row('n', 'next', -300)],
      promote: 'n',
      retire: ['a'],
      active: 'n',
      published: ['n', 'a'],
    },
    {
      name: 'promotes at once with a zero delay',
      rows: [row('a', 'active', -1000), row('n', 'next', 0)],
      policy: { rotationDelaySeconds: 0, retiredKeyGraceSeconds: 4200 },
      promote: 'n',
      retire: ['a'],
      active: 'n',
      published: ['n', 'a'],
    },
    {
      name: 'does not promote a key created after now (another clock) with a zero delay',
      rows: [row('a', 'active', -1000), row('n', 'next', 1)],
      policy: { rotationDelaySeconds: 0, retiredKeyGraceSeconds: 4200 },
      promote: null,
      retire: [],
      active: 'a',
      published: ['a', 'n'],
    },
    {
      name: 'promotes the newest due key and retires the older due one it overtakes',
      rows: [row('a', 'active', -5000), row('n1', 'next', -900), row('n2', 'next', -600)],
      promote: 'n2',
      retire: ['a', 'n1'],
      active: 'n2',
      published: ['n2', 'a', 'n1'],
    },
    {
      name: 'promotes a due key while a newer one keeps waiting',
      rows: [row('a', 'active', -5000), row('n1', 'next', -400), row('n2', 'next', -100)],
      promote: 'n1',
      retire: ['a'],
      active: 'n1',
      published: ['n1', 'n2', 'a'],
    },
    {
      name: 'keeps a retired key published within its grace',
      rows: [row('a', 'active', -1000), row('r', 'retired', -9000, { retired: -4199 })],
      promote: null,
      retire: [],
      active: 'a',
      published: ['a', 'r'],
    },
    {
      name: 'drops a retired key once its grace has passed',
      rows: [row('a', 'active', -1000), row('r', 'retired', -9000, { retired: -4200 })],
      promote: null,
      retire: [],
      active: 'a',
      published: ['a'],
    },
    {
      name: 'drops a retired key that has no retirement time',
      rows: [row('a', 'active', -1000), row('r', 'retired', -9000)],
      promote: null,
      retire: [],
      active: 'a',
      published: ['a'],
    },
    {
      name: 'orders retired keys newest retirement first',
      rows: [
        row('a', 'active', -100),
        row('r1', 'retired', -9000, { retired: -3000 }),
        row('r2', 'retired', -5000, { retired: -100 }),
      ],
      promote: null,
      retire: [],
      active: 'a',
      published: ['a', 'r2', 'r1'],
    },
    {
      name: 'signs with the newest next key at once when there is no active key',
      rows: [row('n', 'next', -1)],
      promote: 'n',
      retire: [],
      active: 'n',
      published: ['n'],
    },
    {
      name: 'keeps one signing key when two rows claim to be active',
      rows: [row('a1', 'active', -2000), row('a2', 'active', -1000)],
      promote: null,
      retire: ['a1'],
      active: 'a2',
      published: ['a2', 'a1'],
    },
    {
      name: 'has no active key when there are no keys',
      rows: [],
      promote: null,
      retire: [],
      active: null,
      published: [],
    },
    {
      name: 'never publishes a revoked key, even one retired within its grace (KM-02)',
      rows: [
        row('a', 'active', -1000),
        row('x', 'revoked', -9000, { retired: -100, revoked: -50 }),
        row('y', 'revoked', -500, { revoked: -10 }),
      ],
      promote: null,
      retire: [],
      active: 'a',
      published: ['a'],
    },
    {
      name: 'has no active key when the only key is revoked',
      rows: [row('a', 'revoked', -1000, { revoked: -1 })],
      promote: null,
      retire: [],
      active: null,
      published: [],
    },
    {
      name: 'signs with the newest next key at once when the active key is revoked',
      rows: [row('a', 'revoked', -1000, { revoked: -1 }), row('n', 'next', -10)],
      promote: 'n',
      retire: [],
      active: 'n',
      published: ['n'],
    },
    {
      name: 'neither promotes nor publishes a revoked key whose delay has passed',
      rows: [row('a', 'active', -1000), row('n', 'revoked', -900, { revoked: -5 })],
      promote: null,
      retire: [],
      active: 'a',
      published: ['a'],
    },
    {
      name: 'treats a row with a revocation time as revoked, whatever its state says',
      rows: [
        row('a1', 'active', -1000, { revoked: -1 }),
        row('a2', 'active', -2000),
        row('n', 'next', -900, { revoked: -1 }),
        row('r', 'retired', -3000, { retired: -100, revoked: -1 }),
      ],
      promote: null,
      retire: [],
      active: 'a2',
      published: ['a2'],
    },
    {
      name: 'ignores a row in an unknown state',
      rows: [row('a', 'active', -1000), row('x', 'compromised', -10)],
      promote: null,
      retire: [],
      active: 'a',
      published: ['a'],
    },
  ])('$name', ({ rows, policy, promote, retire, active, published }) => {
    const schedule = scheduleKeys(rows, NOW, policy ?? POLICY);
    expect(schedule.promote).toBe(promote);
    expect([...schedule.retire].sort()).toEqual([...retire].sort());
    expect(schedule.active).toBe(active);
    expect(schedule.published).toEqual(published);
  });
});
