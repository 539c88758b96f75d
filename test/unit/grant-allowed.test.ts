import { describe, it } from 'vitest';

import { checkGrantAllowed, GRANT_CLIENT_CREDENTIALS, GRANT_TOKEN_EXCHANGE } from '../../src/domain/index.js';
import type { GrantType } from '../../src/domain/index.js';
import { agent, expectCheck, type Expected } from './fixtures.js';

const refused: Expected = { rule: 'grant_type_not_allowed', error: 'unauthorized_client' };

describe('checkGrantAllowed', () => {
  it.each<{ name: string; grantTypes: string[]; grantType: GrantType; want: Expected }>([
    {
      name: 'accepts token exchange for an agent registered for it',
      grantTypes: [GRANT_TOKEN_EXCHANGE],
      grantType: GRANT_TOKEN_EXCHANGE,
      want: null,
    },
    {
      name: 'accepts client credentials for an agent registered for both',
      grantTypes: [GRANT_CLIENT_CREDENTIALS, GRANT_TOKEN_EXCHANGE],
      grantType: GRANT_CLIENT_CREDENTIALS,
      want: null,
    },
    {
      name: 'refuses token exchange to an agent registered only for client credentials',
      grantTypes: [GRANT_CLIENT_CREDENTIALS],
      grantType: GRANT_TOKEN_EXCHANGE,
      want: refused,
    },
    {
      name: 'refuses client credentials to an agent registered only for token exchange',
      grantTypes: [GRANT_TOKEN_EXCHANGE],
      grantType: GRANT_CLIENT_CREDENTIALS,
      want: refused,
    },
    {
      name: 'refuses every grant to an agent with none',
      grantTypes: [],
      grantType: GRANT_TOKEN_EXCHANGE,
      want: refused,
    },
    {
      name: 'matches the grant type exactly, not by prefix',
      grantTypes: ['urn:ietf:params:oauth:grant-type:token'],
      grantType: GRANT_TOKEN_EXCHANGE,
      want: refused,
    },
  ])('$name', ({ grantTypes, grantType, want }) => {
    expectCheck(checkGrantAllowed(agent('agent-a', { grantTypes }), grantType), want);
  });
});
