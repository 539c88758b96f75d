import { describe, it } from 'vitest';

import { checkMayAct } from '../../src/domain/index.js';
import { agent, expectCheck, userToken, type Expected } from './fixtures.js';

const refused: Expected = { rule: 'may_act_mismatch', error: 'invalid_request' };

describe('checkMayAct', () => {
  it.each<{ name: string; mayAct: string[] | null; want: Expected }>([
    { name: 'accepts any actor when the subject has no may_act', mayAct: null, want: null },
    { name: 'accepts an actor named in may_act', mayAct: ['agent-a'], want: null },
    { name: 'accepts an actor among several in may_act', mayAct: ['agent-x', 'agent-a'], want: null },
    { name: 'refuses an actor not named in may_act (DC-03)', mayAct: ['agent-x'], want: refused },
    { name: 'refuses every actor when may_act names no one', mayAct: [], want: refused },
  ])('$name', ({ mayAct, want }) => {
    expectCheck(checkMayAct(userToken({ mayActSubjects: mayAct }), agent('agent-a')), want);
  });
});
