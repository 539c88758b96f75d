import { describe, it } from 'vitest';

import { checkSubjectAudience } from '../../src/domain/index.js';
import type { TokenOrigin } from '../../src/domain/index.js';
import { agent, expectCheck, selfToken, SELF, trustedIssuer, type Expected } from './fixtures.js';

const refused: Expected = { rule: 'subject_token_wrong_audience', error: 'invalid_request' };
const idp = trustedIssuer({ audiences: ['https://sts.example', 'sts'] });

describe('checkSubjectAudience', () => {
  it.each<{ name: string; origin: TokenOrigin; aud: string[]; agents?: string[]; want: Expected }>([
    { name: 'accepts an own token addressed to the actor', origin: SELF, aud: ['agent-b'], want: null },
    { name: 'accepts an actor among several audiences', origin: SELF, aud: ['x', 'agent-b'], want: null },
    {
      name: 'refuses an own token addressed to another agent (ST-07)',
      origin: SELF,
      aud: ['agent-c'],
      want: refused,
    },
    {
      name: "refuses an own token addressed to a trusted issuer's sts audience",
      origin: SELF,
      aud: ['https://sts.example'],
      want: refused,
    },
    { name: 'refuses a token with no audience', origin: SELF, aud: [], want: refused },
    { name: 'matches the actor id exactly, not by prefix', origin: SELF, aud: ['agent-b2'], want: refused },
    {
      name: 'accepts a trusted-issuer token addressed to the actor',
      origin: idp,
      aud: ['agent-b'],
      want: null,
    },
    {
      name: 'accepts a trusted-issuer token addressed to agent-sts by one of its audiences',
      origin: idp,
      aud: ['sts'],
      want: null,
    },
    {
      name: 'refuses a trusted-issuer token addressed to another agent',
      origin: idp,
      aud: ['agent-c'],
      want: refused,
    },
    {
      name: 'refuses a trusted-issuer token addressed to agent-sts and to another agent',
      origin: idp,
      aud: ['agent-c', 'sts'],
      agents: ['agent-c'],
      want: refused,
    },
    {
      name: 'accepts a trusted-issuer token addressed to agent-sts and to something not an agent',
      origin: idp,
      aud: ['sts', 'https://api.example'],
      agents: [],
      want: null,
    },
    {
      name: 'accepts a trusted-issuer token addressed to the actor beside another agent',
      origin: idp,
      aud: ['agent-c', 'agent-b'],
      agents: ['agent-c', 'agent-b'],
      want: null,
    },
    {
      name: "refuses a trusted-issuer token addressed to another issuer's sts audience",
      origin: trustedIssuer({ audiences: [] }),
      aud: ['https://sts.example'],
      want: refused,
    },
  ])('$name', ({ origin, aud, agents = [], want }) => {
    expectCheck(checkSubjectAudience(selfToken({ origin, aud }), agent('agent-b'), agents), want);
  });
});
