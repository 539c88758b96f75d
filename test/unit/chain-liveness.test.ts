import { describe, expect, it } from 'vitest';

import { allAgentsEnabled, chainParticipants, checkChainLiveness } from '../../src/domain/index.js';
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

describe('chainParticipants', () => {
  it.each<{ name: string; subject: VerifiedToken; want: string[] }>([
    { name: 'is empty for a user token with no act', subject: userToken(), want: [] },
    {
      name: "ignores an external token's client_id",
      subject: userToken({ actors: ['agent-x'], clientId: 'web-app' }),
      want: ['agent-x'],
    },
    { name: 'lists the actors of an own token once', subject: selfToken(), want: ['agent-a'] },
    {
      name: 'lists actors oldest first',
      subject: selfToken({ actors: ['agent-a', 'agent-b'], clientId: 'agent-b' }),
      want: ['agent-a', 'agent-b'],
    },
    {
      name: "starts with the subject when it is an agent's own token",
      subject: selfToken({ sub: 'agent-a', clientId: 'agent-a', actors: [], subjectIsAgent: true }),
      want: ['agent-a'],
    },
    {
      name: 'adds the impersonating client of an own token with no act',
      subject: selfToken({ actors: [], clientId: 'agent-a' }),
      want: ['agent-a'],
    },
    {
      name: 'orders subject agent, actors, then client',
      subject: selfToken({ sub: 'agent-s', subjectIsAgent: true, actors: ['agent-a'], clientId: 'agent-c' }),
      want: ['agent-s', 'agent-a', 'agent-c'],
    },
    {
      name: 'does not count a user subject as an agent',
      subject: selfToken({ sub: 'agent-lookalike', subjectIsAgent: false }),
      want: ['agent-a'],
    },
    {
      name: 'keeps an impersonating agent that lineage recorded but act no longer shows',
      subject: selfToken({
        actors: ['agent-b'],
        clientId: 'agent-b',
        lineage: { chainAgents: ['agent-hidden', 'agent-b'], depth: 2, depthLimit: null },
      }),
      want: ['agent-hidden', 'agent-b'],
    },
  ])('$name', ({ subject, want }) => {
    expect(chainParticipants(subject)).toEqual(want);
  });
});

describe('allAgentsEnabled', () => {
  it.each<{ name: string; ids: string[]; agents: AgentPolicy[]; want: boolean }>([
    { name: 'holds for a chain with no agents', ids: [], agents: [], want: true },
    {
      name: 'holds when every agent is enabled',
      ids: ['agent-a', 'agent-b'],
      agents: [agent('agent-a'), agent('agent-b')],
      want: true,
    },
    {
      name: 'ignores registry entries outside the chain',
      ids: ['agent-a'],
      agents: [agent('agent-a'), agent('agent-x', { status: 'disabled' })],
      want: true,
    },
    {
      name: 'fails on a disabled agent',
      ids: ['agent-a', 'agent-b'],
      agents: [agent('agent-a'), agent('agent-b', { status: 'disabled' })],
      want: false,
    },
    {
      name: 'fails on a deleted agent',
      ids: ['agent-a'],
      agents: [agent('agent-a', { status: 'deleted' })],
      want: false,
    },
    {
      name: 'fails on an agent never registered',
      ids: ['agent-a', 'agent-ghost'],
      agents: [agent('agent-a')],
      want: false,
    },
  ])('$name', ({ ids, agents, want }) => {
    expect(allAgentsEnabled(ids, chainMap(...agents))).toBe(want);
  });
});

const inactive: Expected = { rule: 'chain_agent_inactive', error: 'invalid_request' };
const revoked: Expected = { rule: 'subject_token_revoked', error: 'invalid_request' };

describe('checkChainLiveness', () => {
  it.each<{ name: string; subject: VerifiedToken; agents: AgentPolicy[]; want: Expected }>([
    {
      name: 'accepts a live chain of enabled agents',
      subject: selfToken(),
      agents: [agent('agent-a')],
      want: null,
    },
    { name: 'accepts a user token with no chain', subject: userToken(), agents: [], want: null },
    {
      name: 'refuses a revoked subject token',
      subject: selfToken({ revoked: true }),
      agents: [agent('agent-a')],
      want: revoked,
    },
    {
      name: 'refuses a chain holding a disabled agent (DC-07)',
      subject: selfToken(),
      agents: [agent('agent-a', { status: 'disabled' })],
      want: inactive,
    },
    {
      name: 'refuses a chain holding a deleted agent',
      subject: selfToken(),
      agents: [agent('agent-a', { status: 'deleted' })],
      want: inactive,
    },
    {
      name: 'refuses a chain holding an agent never registered',
      subject: selfToken(),
      agents: [],
      want: inactive,
    },
    {
      name: "refuses an agent's own token once that agent is disabled",
      subject: selfToken({ sub: 'agent-a', clientId: 'agent-a', actors: [], subjectIsAgent: true }),
      agents: [agent('agent-a', { status: 'disabled' })],
      want: inactive,
    },
    {
      name: 'refuses an own token whose impersonating client is disabled',
      subject: selfToken({ actors: [], clientId: 'agent-i' }),
      agents: [agent('agent-i', { status: 'disabled' })],
      want: inactive,
    },
    {
      name: 'refuses an external act chain naming an unknown agent',
      subject: userToken({ origin: trustedIssuer(), actors: ['agent-x'] }),
      agents: [],
      want: inactive,
    },
    {
      name: 'refuses when only an older actor is inactive',
      subject: selfToken({ actors: ['agent-a', 'agent-b'], clientId: 'agent-b' }),
      agents: [agent('agent-a', { status: 'disabled' }), agent('agent-b')],
      want: inactive,
    },
  ])('$name', ({ subject, agents, want }) => {
    expectCheck(checkChainLiveness(subject, chainMap(...agents)), want);
  });
});
