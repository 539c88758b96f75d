import { describe, expect, it } from 'vitest';

import { checkDelegationDepth, depthAfterHop, inheritedDepthLimit } from '../../src/domain/index.js';
import type { AgentPolicy, VerifiedToken } from '../../src/domain/index.js';
import {
  agent,
  chainMap,
  expectCheck,
  selfToken,
  trustedIssuer,
  userToken,
  type Expected,
} from './fixtures.js';

const tooDeep: Expected = { rule: 'delegation_too_deep', error: 'invalid_request' };

/** An own token whose chain holds `count` actors a0..a(count-1). */
function chainOf(count: number): VerifiedToken {
  const actors = Array.from({ length: count }, (_, i) => `a${i}`);
  return selfToken({ actors, clientId: actors.at(-1) ?? null });
}

describe('depthAfterHop', () => {
  it.each([
    { name: 'is 1 for the first hop of a user token', subject: userToken(), want: 1 },
    { name: 'counts the actors already in the chain plus this one', subject: chainOf(3), want: 4 },
    {
      name: "is 1 for an agent's own token (the subject is not an actor)",
      subject: selfToken({ sub: 'agent-a', clientId: 'agent-a', actors: [], subjectIsAgent: true }),
      want: 1,
    },
    {
      name: 'counts an actor an impersonated hop hid from act, as lineage recorded it',
      subject: selfToken({
        actors: ['agent-b'],
        clientId: 'agent-b',
        lineage: { chainAgents: ['agent-a', 'agent-b'], depth: 2, depthLimit: null },
      }),
      want: 3,
    },
  ])('$name', ({ subject, want }) => {
    expect(depthAfterHop(subject)).toBe(want);
  });
});

describe('checkDelegationDepth', () => {
  const enabled = (count: number, overrides: Partial<AgentPolicy> = {}) =>
    Array.from({ length: count }, (_, i) => agent(`a${i}`, overrides));

  it.each<{
    name: string;
    subject: VerifiedToken;
    actor?: Partial<AgentPolicy>;
    chain: AgentPolicy[];
    service?: number;
    want: Expected;
  }>([
    { name: 'accepts a hop well within every limit', subject: chainOf(1), chain: enabled(1), want: null },
    {
      name: 'accepts a chain exactly as deep as the service limit',
      subject: chainOf(4),
      chain: enabled(4, { maxDelegationDepth: 9 }),
      actor: { maxDelegationDepth: 9 },
      service: 5,
      want: null,
    },
    {
      name: 'refuses one hop past the service limit (DC-06)',
      subject: chainOf(5),
      chain: enabled(5, { maxDelegationDepth: 9 }),
      actor: { maxDelegationDepth: 9 },
      service: 5,
      want: tooDeep,
    },
    {
      name: "refuses past a trusted issuer's limit that lineage carried to a later hop",
      subject: selfToken({
        actors: ['a0'],
        clientId: 'a0',
        lineage: { chainAgents: ['a0'], depth: 1, depthLimit: 1 },
      }),
      chain: enabled(1),
      want: tooDeep,
    },
    {
      name: "refuses past the actor's own limit",
      subject: chainOf(2),
      chain: enabled(2),
      actor: { maxDelegationDepth: 2 },
      want: tooDeep,
    },
    {
      name: "accepts at the actor's own limit",
      subject: chainOf(1),
      chain: enabled(1),
      actor: { maxDelegationDepth: 2 },
      want: null,
    },
    {
      name: 'refuses past the limit of an agent already in the chain',
      subject: chainOf(2),
      chain: [agent('a0', { maxDelegationDepth: 2 }), agent('a1')],
      want: tooDeep,
    },
    {
      name: 'refuses past the limit of an agent that began the chain with its own token',
      subject: selfToken({ sub: 'root', subjectIsAgent: true, actors: ['a0'], clientId: 'a0' }),
      chain: [agent('root', { maxDelegationDepth: 1 }), agent('a0')],
      want: tooDeep,
    },
    {
      name: 'refuses any hop for an actor with limit 0',
      subject: userToken(),
      chain: [],
      actor: { maxDelegationDepth: 0 },
      want: tooDeep,
    },
    {
      name: "refuses past a trusted issuer's limit",
      subject: userToken({ origin: trustedIssuer({ maxDelegationDepth: 1 }), actors: ['a0'] }),
      chain: enabled(1),
      want: tooDeep,
    },
    {
      name: 'ignores a trusted issuer with no limit',
      subject: userToken({ origin: trustedIssuer({ maxDelegationDepth: null }), actors: ['a0'] }),
      chain: enabled(1),
      want: null,
    },
    {
      name: 'leaves agents missing from the registry to the liveness rule',
      subject: chainOf(2),
      chain: [],
      want: null,
    },
  ])('$name', ({ subject, actor, chain, service, want }) => {
    const input = {
      subject,
      actorAgent: agent('actor', actor),
      chainAgents: chainMap(...chain),
      serviceMaxDepth: service ?? 10,
    };
    expectCheck(checkDelegationDepth(input), want);
  });
});

describe('inheritedDepthLimit', () => {
  const trusted = (maxDelegationDepth: number | null): VerifiedToken =>
    userToken({ origin: trustedIssuer({ maxDelegationDepth }) });

  it.each<{ name: string; subject: VerifiedToken; want: number | null }>([
    { name: 'is none for a trusted issuer without a limit', subject: trusted(null), want: null },
    { name: "is the trusted issuer's limit on the first hop", subject: trusted(2), want: 2 },
    {
      name: 'is what lineage carried for one of our own tokens',
      subject: selfToken({ lineage: { chainAgents: ['a0'], depth: 1, depthLimit: 3 } }),
      want: 3,
    },
    {
      name: 'is none for our own tokens of a chain that never had one',
      subject: selfToken({ lineage: { chainAgents: ['a0'], depth: 1, depthLimit: null } }),
      want: null,
    },
  ])('$name', ({ subject, want }) => {
    expect(inheritedDepthLimit(subject)).toBe(want);
  });
});
