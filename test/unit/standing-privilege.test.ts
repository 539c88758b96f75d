import { describe, expect, it } from 'vitest';

import { standingPrivilege, standingSubjectScopes } from '../../src/domain/index.js';
import type {
  AgentPolicy,
  ClaimedPrivilege,
  StandingPrivilege,
  VerifiedToken,
} from '../../src/domain/index.js';
import { agent, API, chainMap, expectAccepted, expectRefusal, selfToken, userToken } from './fixtures.js';

const ISSUER = 'https://sts.example';
const ops = agent('ops', { allowedScopes: ['sts:admin', 'read'], allowedAudiences: [ISSUER, API] });
const adminToken: ClaimedPrivilege = { aud: [ISSUER], scopes: ['sts:admin'] };

describe('standingPrivilege', () => {
  it.each<{
    name: string;
    claimed: ClaimedPrivilege;
    obtainer: AgentPolicy | undefined;
    want: StandingPrivilege;
  }>([
    {
      name: 'keeps all of a token its obtainer is still allowed',
      claimed: adminToken,
      obtainer: ops,
      want: { audienceStands: true, scopes: ['sts:admin'], withdrawnScopes: [] },
    },
    {
      name: 'withdraws a scope the obtainer lost',
      claimed: adminToken,
      obtainer: { ...ops, allowedScopes: ['read'] },
      want: { audienceStands: true, scopes: [], withdrawnScopes: ['sts:admin'] },
    },
    {
      name: 'keeps the other scopes, in the token order',
      claimed: { aud: [API], scopes: ['read', 'sts:admin', 'write'] },
      obtainer: { ...ops, allowedScopes: ['write', 'read'] },
      want: { audienceStands: true, scopes: ['read', 'write'], withdrawnScopes: ['sts:admin'] },
    },
    {
      name: 'no longer stands on an audience the obtainer lost',
      claimed: adminToken,
      obtainer: { ...ops, allowedAudiences: [API] },
      want: { audienceStands: false, scopes: ['sts:admin'], withdrawnScopes: [] },
    },
    {
      name: 'needs every audience of the token to stand',
      claimed: { aud: [API, ISSUER], scopes: ['read'] },
      obtainer: { ...ops, allowedAudiences: [API] },
      want: { audienceStands: false, scopes: ['read'], withdrawnScopes: [] },
    },
    {
      name: 'never stands on a token without an audience',
      claimed: { aud: [], scopes: ['read'] },
      obtainer: ops,
      want: { audienceStands: false, scopes: ['read'], withdrawnScopes: [] },
    },
    {
      name: 'matches audiences exactly (no prefix, no case folding)',
      claimed: { aud: [`${ISSUER}/`], scopes: ['read'] },
      obtainer: ops,
      want: { audienceStands: false, scopes: ['read'], withdrawnScopes: [] },
    },
    {
      name: 'grants nothing for a disabled obtainer',
      claimed: adminToken,
      obtainer: { ...ops, status: 'disabled' },
      want: { audienceStands: false, scopes: [], withdrawnScopes: ['sts:admin'] },
    },
    {
      name: 'grants nothing for a deleted obtainer',
      claimed: adminToken,
      obtainer: { ...ops, status: 'deleted' },
      want: { audienceStands: false, scopes: [], withdrawnScopes: ['sts:admin'] },
    },
    {
      name: 'grants nothing for an obtainer never registered',
      claimed: adminToken,
      obtainer: undefined,
      want: { audienceStands: false, scopes: [], withdrawnScopes: ['sts:admin'] },
    },
  ])('$name', ({ claimed, obtainer, want }) => {
    expect(standingPrivilege(claimed, obtainer)).toEqual(want);
  });
});

/** selfToken(): alice via agent-a (its obtainer), addressed to agent-b, calendar.read and calendar.write. */
describe('standingSubjectScopes', () => {
  it.each<{
    name: string;
    subject: VerifiedToken;
    requested: string[] | null;
    obtainer: Partial<AgentPolicy>;
    want: readonly string[];
  }>([
    {
      name: 'passes every scope on while the obtainer keeps them',
      subject: selfToken(),
      requested: null,
      obtainer: {},
      want: ['calendar.read', 'calendar.write'],
    },
    {
      name: 'drops a withdrawn scope the request does not name',
      subject: selfToken(),
      requested: null,
      obtainer: { allowedScopes: ['calendar.read'] },
      want: ['calendar.read'],
    },
    {
      name: 'drops a withdrawn scope when the request names only standing ones',
      subject: selfToken(),
      requested: ['calendar.read'],
      obtainer: { allowedScopes: ['calendar.read'] },
      want: ['calendar.read'],
    },
    {
      name: 'leaves a requested scope the token never held to attenuation',
      subject: selfToken(),
      requested: ['mail.read'],
      obtainer: {},
      want: ['calendar.read', 'calendar.write'],
    },
    {
      name: "answers a trusted issuer's token by its issuer's registration alone",
      subject: userToken({ clientId: 'agent-a' }),
      requested: ['calendar.write'],
      obtainer: { allowedScopes: [], allowedAudiences: [] },
      want: ['calendar.read', 'calendar.write'],
    },
  ])('$name', ({ subject, requested, obtainer, want }) => {
    const agents = chainMap(agent('agent-a', obtainer));
    expect(expectAccepted(standingSubjectScopes(subject, requested, agents))).toEqual(want);
  });

  it.each<{
    name: string;
    subject: VerifiedToken;
    requested: string[] | null;
    agents: AgentPolicy[];
    rule: 'audience_withdrawn' | 'scope_withdrawn';
  }>([
    {
      name: 'refuses a token whose obtainer may no longer address this client',
      subject: selfToken(),
      requested: null,
      agents: [agent('agent-a', { allowedAudiences: ['agent-c'] })],
      rule: 'audience_withdrawn',
    },
    {
      name: 'refuses when the obtainer is missing from the registry',
      subject: selfToken(),
      requested: null,
      agents: [],
      rule: 'audience_withdrawn',
    },
    {
      name: 'refuses an own token without a client_id',
      subject: selfToken({ clientId: null }),
      requested: null,
      agents: [agent('agent-a')],
      rule: 'audience_withdrawn',
    },
    {
      name: 'refuses a request naming a withdrawn scope',
      subject: selfToken(),
      requested: ['calendar.read', 'calendar.write'],
      agents: [agent('agent-a', { allowedScopes: ['calendar.read'] })],
      rule: 'scope_withdrawn',
    },
    {
      name: 'refuses when every scope of the token was withdrawn',
      subject: selfToken(),
      requested: null,
      agents: [agent('agent-a', { allowedScopes: ['mail.read'] })],
      rule: 'scope_withdrawn',
    },
  ])('$name', ({ subject, requested, agents, rule }) => {
    const error = rule === 'scope_withdrawn' ? 'invalid_scope' : 'invalid_request';
    expectRefusal(standingSubjectScopes(subject, requested, chainMap(...agents)), rule, error);
  });
});
