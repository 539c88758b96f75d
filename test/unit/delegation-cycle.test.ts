import { describe, it } from 'vitest';

import { checkDelegationCycle } from '../../src/domain/index.js';
import type { VerifiedToken } from '../../src/domain/index.js';
import { agent, expectCheck, selfToken, userToken, type Expected } from './fixtures.js';

const refused: Expected = { rule: 'delegation_cycle', error: 'invalid_request' };

describe('checkDelegationCycle', () => {
  it.each<{ name: string; subject: VerifiedToken; actor: string; want: Expected }>([
    { name: 'accepts the first hop of a user token', subject: userToken(), actor: 'agent-a', want: null },
    { name: 'accepts a new agent on the chain', subject: selfToken(), actor: 'agent-b', want: null },
    {
      name: 'refuses an actor already in the act chain (A→B→A)',
      subject: selfToken({ actors: ['agent-a', 'agent-b'], clientId: 'agent-b' }),
      actor: 'agent-a',
      want: refused,
    },
    {
      name: 'refuses the newest actor exchanging again',
      subject: selfToken(),
      actor: 'agent-a',
      want: refused,
    },
    {
      name: "refuses an agent exchanging its own token's chain back to itself",
      subject: selfToken({ sub: 'agent-a', clientId: 'agent-b', actors: ['agent-b'], subjectIsAgent: true }),
      actor: 'agent-a',
      want: refused,
    },
    {
      name: 'refuses the impersonating client of an own token',
      subject: selfToken({ actors: [], clientId: 'agent-i' }),
      actor: 'agent-i',
      want: refused,
    },
    {
      name: 'refuses an external act chain that already repeats an agent',
      subject: userToken({ actors: ['agent-x', 'agent-y', 'agent-x'] }),
      actor: 'agent-z',
      want: refused,
    },
    {
      name: 'accepts an actor whose id equals a user subject',
      subject: selfToken({ sub: 'agent-b', subjectIsAgent: false }),
      actor: 'agent-b',
      want: null,
    },
  ])('$name', ({ subject, actor, want }) => {
    expectCheck(checkDelegationCycle(subject, agent(actor)), want);
  });
});
