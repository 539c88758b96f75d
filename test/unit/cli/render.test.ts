/** The CLI's human output: the chain tree, tables and log lines (src/cli/render.ts). */
import { describe, expect, it } from 'vitest';
import { auditLine, chainActors, chainTree, relative, table } from '../../../src/cli/render.js';
import type { AuditEvent, ChainNode, ChainTree } from '../../../src/cli/types.js';

function node(jti: string, actor: string, aud: string, extra: Partial<ChainNode> = {}): ChainNode {
  return {
    jti,
    parentJti: null,
    actor,
    sub: 'alice',
    aud,
    scopes: ['calendar.read'],
    depth: 1,
    impersonation: false,
    jkt: null,
    issuedAt: '2026-11-29T16:00:00.000Z',
    expiresAt: '2026-11-29T16:05:00.000Z',
    revokedAt: null,
    status: 'live',
    children: [],
    ...extra,
  };
}

const revokedAt = '2026-11-29T16:01:30.000Z';
const chain: ChainTree = {
  txn: 'txn-1',
  tokenCount: 4,
  roots: [
    node('j1', 'agent-a', 'agent-b', {
      scopes: ['calendar.read', 'calendar.write'],
      children: [
        node('j2', 'agent-b', 'agent-c', {
          depth: 2,
          status: 'revoked',
          revokedAt,
          children: [node('j3', 'agent-c', 'https://calendar.example/api', { depth: 3, status: 'revoked' })],
        }),
        node('j4', 'agent-b', 'https://calendar.example/api', { depth: 2, status: 'expired', jkt: 'thumb' }),
      ],
    }),
  ],
};

describe('chainTree', () => {
  it('draws parent → child with box-drawing branches, status marks and expiry', () => {
    expect(chainTree(chain).split('\n')).toEqual([
      'chain txn-1 (4 tokens)',
      'alice (subject)',
      '└─ agent-a → agent-b  scopes: calendar.read, calendar.write  ● live  exp 2026-11-29T16:05:00Z  jti j1',
      '   ├─ agent-b → agent-c  scopes: calendar.read  ✗ revoked  revoked 2026-11-29T16:01:30Z  jti j2',
      '   │  └─ agent-c → https://calendar.example/api  scopes: calendar.read  ✗ revoked  exp 2026-11-29T16:05:00Z  jti j3',
      '   └─ agent-b → https://calendar.example/api  scopes: calendar.read  ○ expired  exp 2026-11-29T16:05:00Z  DPoP-bound  jti j4',
    ]);
  });

  it('marks the agents that are disabled or deleted where they acted', () => {
    const lines = chainTree(
      chain,
      new Map([
        ['agent-c', 'deleted'],
        ['agent-a', 'disabled'],
      ]),
    ).split('\n');
    expect(lines[2]).toContain('agent-a [agent disabled] → agent-b');
    expect(lines[4]).toContain('agent-c [agent deleted] → https://calendar.example/api');
    expect(lines[3]).toContain('agent-b → agent-c');
  });

  it('groups several roots under their subjects, and marks impersonation', () => {
    const forest: ChainTree = {
      txn: 't',
      tokenCount: 3,
      roots: [
        node('r1', 'agent-a', 'api'),
        node('r2', 'agent-a', 'api', { impersonation: true }),
        node('r3', 'agent-x', 'api', { sub: 'bob' }),
      ],
    };
    const lines = chainTree(forest).split('\n');
    expect(lines.map((line) => line.slice(0, 20))).toEqual([
      'chain t (3 tokens)',
      'alice (subject)',
      '├─ agent-a → api  sc',
      '└─ agent-a → api  sc',
      'bob (subject)',
      '└─ agent-x → api  sc',
    ]);
    expect(lines[3]).toContain('impersonation');
  });

  it('lists every actor once', () => {
    expect(chainActors(chain)).toEqual(['agent-a', 'agent-b', 'agent-c']);
  });
});

describe('table', () => {
  it('pads every column but the last to its widest cell', () => {
    expect(
      table(
        ['ID', 'NAME'],
        [
          ['a', 'first'],
          ['longer-id', 'x'],
        ],
      ),
    ).toBe('ID         NAME\na          first\nlonger-id  x');
  });
});

describe('relative', () => {
  const now = new Date('2026-11-29T16:00:00Z');
  it('says how far away an instant is', () => {
    expect(relative(new Date('2026-11-29T16:04:12Z'), now)).toBe('in 4m 12s');
    expect(relative(new Date('2026-11-29T15:57:00Z'), now)).toBe('3m 0s ago');
    expect(relative(new Date('2026-11-29T18:30:00Z'), now)).toBe('in 2h 30m');
  });
});

describe('auditLine', () => {
  it('puts time, decision and rule first, then the non-empty fields', () => {
    const event: AuditEvent = {
      id: '7',
      at: '2026-11-29T16:00:00.123Z',
      decision: 'denied',
      rule: 'scope_escalation',
      grantType: 'urn:ietf:params:oauth:grant-type:token-exchange',
      clientId: 'agent-b',
      subject: 'alice',
      audience: 'api',
      requestedScope: 'a b',
      grantedScope: null,
      jti: null,
      parentJti: null,
      txn: 't1',
      impersonation: false,
      description: 'scope b is not allowed',
    };
    expect(auditLine(event)).toBe(
      '2026-11-29T16:00:00Z  denied   scope_escalation  client=agent-b  sub=alice  aud=api  scope="a b"  txn=t1  (scope b is not allowed)',
    );
  });
});
