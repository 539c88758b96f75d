import { describe, expect, it } from 'vitest';

import { checkTargetAllowed, resolveTarget } from '../../src/domain/index.js';
import type { AudienceEntry } from '../../src/domain/index.js';
import {
  agent,
  agentAudience,
  API,
  expectCheck,
  expectRefusal,
  resource,
  type Expected,
} from './fixtures.js';

describe('resolveTarget', () => {
  it.each<{ name: string; allowed: string[]; requested: string | null; want: string }>([
    { name: 'uses the requested target', allowed: [API, 'agent-b'], requested: API, want: API },
    {
      name: 'uses the requested target even when not allowed (checked later)',
      allowed: [],
      requested: 'x',
      want: 'x',
    },
    { name: "defaults to the agent's only allowed audience", allowed: [API], requested: null, want: API },
  ])('$name', ({ allowed, requested, want }) => {
    expect(resolveTarget(agent('agent-a', { allowedAudiences: allowed }), requested)).toEqual({
      ok: true,
      value: want,
    });
  });

  it.each<{ name: string; allowed: string[] }>([
    { name: 'refuses no target when the agent has several audiences', allowed: [API, 'agent-b'] },
    { name: 'refuses no target when the agent has no audience', allowed: [] },
  ])('$name', ({ allowed }) => {
    expectRefusal(
      resolveTarget(agent('agent-a', { allowedAudiences: allowed }), null),
      'target_missing',
      'invalid_target',
    );
  });
});

const notRegistered: Expected = { rule: 'target_not_registered', error: 'invalid_target' };
const notAllowed: Expected = { rule: 'target_not_allowed', error: 'invalid_target' };

describe('checkTargetAllowed', () => {
  const actor = agent('agent-a', { allowedAudiences: [API, 'agent-b', 'agent-off', 'https://gone.example'] });

  it.each<{ name: string; target: string; audience: AudienceEntry | null; want: Expected }>([
    { name: 'accepts an allowed registered resource', target: API, audience: resource(API), want: null },
    {
      name: 'accepts an allowed enabled agent',
      target: 'agent-b',
      audience: agentAudience(agent('agent-b')),
      want: null,
    },
    {
      name: 'refuses an unregistered target',
      target: 'https://gone.example',
      audience: null,
      want: notRegistered,
    },
    {
      name: 'refuses a disabled agent as target',
      target: 'agent-off',
      audience: agentAudience(agent('agent-off', { status: 'disabled' })),
      want: notRegistered,
    },
    {
      name: 'refuses a registry entry for a different target',
      target: API,
      audience: resource('https://other.example'),
      want: notRegistered,
    },
    {
      name: 'refuses a registered resource outside the allowed list (SA-01)',
      target: 'https://billing.example',
      audience: resource('https://billing.example'),
      want: notAllowed,
    },
    {
      name: 'refuses a registered agent outside the allowed list',
      target: 'agent-z',
      audience: agentAudience(agent('agent-z')),
      want: notAllowed,
    },
    {
      name: 'matches exactly: no prefix or wildcard (AD-05)',
      target: `${API}/admin`,
      audience: resource(`${API}/admin`),
      want: notAllowed,
    },
    {
      name: 'matches exactly: case matters',
      target: API.toUpperCase(),
      audience: resource(API.toUpperCase()),
      want: notAllowed,
    },
  ])('$name', ({ target, audience, want }) => {
    expectCheck(checkTargetAllowed(actor, target, audience), want);
  });

  it('does not treat "*" in an allowed list as a wildcard', () => {
    const wild = agent('agent-w', { allowedAudiences: ['*'] });
    expectCheck(checkTargetAllowed(wild, API, resource(API)), notAllowed);
  });
});
