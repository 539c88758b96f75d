import { describe, it } from 'vitest';

import { checkImpersonationAllowed } from '../../src/domain/index.js';
import { agent, expectCheck, type Expected } from './fixtures.js';

const refused: Expected = { rule: 'impersonation_not_allowed', error: 'invalid_request' };

describe('checkImpersonationAllowed', () => {
  it.each<{ name: string; impersonation: boolean; mayImpersonate: boolean; want: Expected }>([
    { name: 'accepts delegation from any agent', impersonation: false, mayImpersonate: false, want: null },
    {
      name: 'accepts delegation from a flagged agent',
      impersonation: false,
      mayImpersonate: true,
      want: null,
    },
    {
      name: 'accepts impersonation by a flagged agent',
      impersonation: true,
      mayImpersonate: true,
      want: null,
    },
    {
      name: 'refuses impersonation by an unflagged agent (DC-09)',
      impersonation: true,
      mayImpersonate: false,
      want: refused,
    },
  ])('$name', ({ impersonation, mayImpersonate, want }) => {
    expectCheck(checkImpersonationAllowed(impersonation, agent('agent-a', { mayImpersonate })), want);
  });
});
