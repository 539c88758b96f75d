import { describe, it } from 'vitest';

import { checkClientEnabled } from '../../src/domain/index.js';
import type { AgentStatus } from '../../src/domain/index.js';
import { agent, expectCheck, type Expected } from './fixtures.js';

const refused: Expected = { rule: 'client_authentication_failed', error: 'invalid_client' };

describe('checkClientEnabled', () => {
  it.each<{ name: string; status: AgentStatus; want: Expected }>([
    { name: 'accepts an enabled agent', status: 'enabled', want: null },
    { name: 'refuses a disabled agent', status: 'disabled', want: refused },
    { name: 'refuses a deleted agent', status: 'deleted', want: refused },
  ])('$name', ({ status, want }) => {
    expectCheck(checkClientEnabled(agent('agent-a', { status })), want);
  });
});
