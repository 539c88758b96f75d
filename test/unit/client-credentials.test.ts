import { describe, expect, it } from 'vitest';

import { evaluateClientCredentials, GRANT_TOKEN_EXCHANGE } from '../../src/domain/index.js';
import type {
  ClientCredentialsInput,
  IssueDecision,
  OAuthErrorCode,
  RuleCode,
} from '../../src/domain/index.js';
import {
  agent,
  agentAudience,
  API,
  clientCredentialsInput,
  expectRefusal,
  NOW,
  resource,
} from './fixtures.js';

const ISSUER = 'https://sts.example';

describe('evaluateClientCredentials', () => {
  it.each<{ name: string; input: Partial<ClientCredentialsInput>; want: Partial<IssueDecision> }>([
    {
      name: "issues the agent's own token: sub and client_id are the agent, no act",
      input: {},
      want: { sub: 'agent-a', clientId: 'agent-a', aud: API, act: null, depth: 0, impersonation: false },
    },
    {
      name: 'starts a new chain holding only the agent',
      input: {},
      want: { txn: null, parentJti: null, chainAgents: ['agent-a'] },
    },
    {
      name: "grants the agent's scopes the audience accepts, in the agent's order",
      input: {},
      want: { scopes: ['calendar.read', 'calendar.write'] },
    },
    {
      name: 'grants what was asked',
      input: { requestedScopes: ['calendar.write'] },
      want: { scopes: ['calendar.write'] },
    },
    { name: 'lasts the TTL', input: {}, want: { iat: NOW, exp: NOW + 300 } },
    {
      name: "defaults the target to the agent's only audience",
      input: { agent: agent('agent-a', { allowedAudiences: [API] }), target: null },
      want: { aud: API },
    },
    {
      name: 'may target another agent, which accepts its own allowed scopes',
      input: {
        target: 'agent-b',
        audience: agentAudience(agent('agent-b', { allowedScopes: ['mail.read'] })),
      },
      want: { aud: 'agent-b', scopes: ['mail.read'] },
    },
    {
      name: 'issues an admin token only with both the issuer audience and sts:admin',
      input: {
        agent: agent('admin-bot', { allowedScopes: ['sts:admin'], allowedAudiences: [ISSUER] }),
        target: ISSUER,
        audience: resource(ISSUER, ['sts:admin']),
      },
      want: { sub: 'admin-bot', aud: ISSUER, scopes: ['sts:admin'] },
    },
  ])('$name', ({ input, want }) => {
    expect(evaluateClientCredentials(clientCredentialsInput(input))).toMatchObject({ ok: true, value: want });
  });

  it.each<{ name: string; input: Partial<ClientCredentialsInput>; rule: RuleCode; error: OAuthErrorCode }>([
    {
      name: 'refuses a disabled agent',
      input: { agent: agent('agent-a', { status: 'disabled' }) },
      rule: 'client_authentication_failed',
      error: 'invalid_client',
    },
    {
      name: 'refuses an agent not allowed client credentials',
      input: { agent: agent('agent-a', { grantTypes: [GRANT_TOKEN_EXCHANGE] }) },
      rule: 'grant_type_not_allowed',
      error: 'unauthorized_client',
    },
    {
      name: 'refuses no target when the agent has several audiences',
      input: { target: null },
      rule: 'target_missing',
      error: 'invalid_target',
    },
    {
      name: 'refuses an unregistered target',
      input: { target: 'https://unknown.example', audience: null },
      rule: 'target_not_registered',
      error: 'invalid_target',
    },
    {
      name: "refuses a registered target outside the agent's audiences",
      input: { target: 'https://billing.example', audience: resource('https://billing.example') },
      rule: 'target_not_allowed',
      error: 'invalid_target',
    },
    {
      name: 'refuses a scope the agent may not hold',
      input: { requestedScopes: ['calendar.admin'] },
      rule: 'scope_escalation',
      error: 'invalid_scope',
    },
    {
      name: 'refuses a scope the audience does not accept',
      input: { requestedScopes: ['mail.read'] },
      rule: 'scope_escalation',
      error: 'invalid_scope',
    },
    {
      name: 'refuses an admin token to an agent without sts:admin',
      input: {
        agent: agent('agent-a', { allowedAudiences: [ISSUER] }),
        target: ISSUER,
        audience: resource(ISSUER, ['sts:admin']),
      },
      rule: 'scope_empty',
      error: 'invalid_scope',
    },
    {
      name: 'refuses a zero TTL rather than issue an already-expired token',
      input: { agent: agent('agent-a', { tokenTtlSeconds: 0 }) },
      rule: 'subject_token_invalid',
      error: 'invalid_request',
    },
  ])('$name', ({ input, rule, error }) => {
    expectRefusal(evaluateClientCredentials(clientCredentialsInput(input)), rule, error);
  });
});
