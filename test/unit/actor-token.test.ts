import { describe, it } from 'vitest';

import { checkActorToken } from '../../src/domain/index.js';
import type { VerifiedToken } from '../../src/domain/index.js';
import { actorToken, agent, expectCheck, userToken, type Expected } from './fixtures.js';

describe('checkActorToken', () => {
  it.each<{ name: string; token: VerifiedToken | null; want: Expected }>([
    { name: 'accepts a request with no actor token', token: null, want: null },
    { name: "accepts the actor's own live token", token: actorToken('agent-b'), want: null },
    {
      name: 'accepts an actor token whatever its audience',
      token: actorToken('agent-b', { aud: ['somewhere-else'] }),
      want: null,
    },
    {
      name: 'refuses a revoked actor token',
      token: actorToken('agent-b', { revoked: true }),
      want: { rule: 'actor_token_invalid', error: 'invalid_request' },
    },
    {
      name: "refuses another agent's actor token (DC-01)",
      token: actorToken('agent-n'),
      want: { rule: 'actor_token_subject_mismatch', error: 'invalid_request' },
    },
    {
      name: 'refuses a user token presented as actor token (DC-02)',
      token: userToken({ aud: ['agent-b'] }),
      want: { rule: 'actor_token_subject_mismatch', error: 'invalid_request' },
    },
  ])('$name', ({ token, want }) => {
    expectCheck(checkActorToken(token, agent('agent-b')), want);
  });
});
