import { describe, expect, it } from 'vitest';

import { evaluateExchange, flattenActClaim, GRANT_CLIENT_CREDENTIALS } from '../../src/domain/index.js';
import type {
  ExchangeInput,
  IssueDecision,
  OAuthErrorCode,
  RuleCode,
  VerifiedToken,
} from '../../src/domain/index.js';
import {
  actorToken,
  agent,
  agentAudience,
  API,
  chainMap,
  exchangeInput,
  exchangeRequest,
  expectAccepted,
  expectRefusal,
  NOW,
  resource,
  selfToken,
  SELF,
  trustedIssuer,
  userToken,
} from './fixtures.js';

/** The token the protocol layer would mint from a decision, as it verifies it on the next hop. */
function tokenFrom(decision: IssueDecision, jti: string, txn: string): VerifiedToken {
  return {
    origin: SELF,
    sub: decision.sub,
    aud: [decision.aud],
    scopes: decision.scopes,
    exp: decision.exp,
    jti,
    txn: decision.txn ?? txn,
    clientId: decision.clientId,
    actors: expectAccepted(flattenActClaim(decision.act ?? undefined, 10)),
    mayActSubjects: null,
    revoked: false,
    subjectIsAgent: false,
    binding: decision.jkt === null ? { kind: 'none' } : { kind: 'jkt', jkt: decision.jkt },
  };
}

describe('evaluateExchange: a two-hop chain alice → agent-a → agent-b → API', () => {
  const agentA = agent('agent-a');
  const agentB = agent('agent-b', { allowedScopes: ['calendar.read', 'mail.read'] });

  const hop1 = expectAccepted(
    evaluateExchange(
      exchangeInput({
        request: exchangeRequest({ target: 'agent-b' }),
        actorAgent: agentA,
        subject: userToken(),
        audience: agentAudience(agentB),
        chainAgents: chainMap(),
      }),
    ),
  );
  const hop2 = expectAccepted(
    evaluateExchange(
      exchangeInput({
        request: exchangeRequest({ target: API, requestedScopes: ['calendar.read'] }),
        actorAgent: agentB,
        subject: tokenFrom(hop1, 'jti-hop-1', 'txn-new'),
        chainAgents: chainMap(agentA),
      }),
    ),
  );

  it.each<{ name: string; decision: IssueDecision; want: Partial<IssueDecision> }>([
    {
      name: 'hop 1 keeps the user as subject and records agent-a as the only actor',
      decision: hop1,
      want: { sub: 'alice', aud: 'agent-b', clientId: 'agent-a', act: { sub: 'agent-a' }, depth: 1 },
    },
    {
      name: "hop 1 grants the subject's scopes that agent-a holds and agent-b accepts",
      decision: hop1,
      want: { scopes: ['calendar.read'] },
    },
    {
      name: 'hop 1 starts a new chain from an external token',
      decision: hop1,
      want: { txn: null, parentJti: null, chainAgents: ['agent-a'], impersonation: false },
    },
    {
      name: 'hop 2 nests the act claim, newest actor outermost',
      decision: hop2,
      want: {
        sub: 'alice',
        aud: API,
        clientId: 'agent-b',
        act: { sub: 'agent-b', act: { sub: 'agent-a' } },
        depth: 2,
      },
    },
    {
      name: 'hop 2 reuses the chain id and links to its parent',
      decision: hop2,
      want: { txn: 'txn-new', parentJti: 'jti-hop-1', chainAgents: ['agent-a', 'agent-b'] },
    },
    { name: 'hop 2 grants what was asked', decision: hop2, want: { scopes: ['calendar.read'] } },
    { name: 'hop 1 is issued now for the TTL', decision: hop1, want: { iat: NOW, exp: NOW + 300 } },
    { name: 'hop 2 never outlives hop 1', decision: hop2, want: { iat: NOW, exp: hop1.exp } },
  ])('$name', ({ decision, want }) => {
    expect(decision).toMatchObject(want);
  });

  it('hop 3: agent-b cannot send the chain back to agent-a (A→B→A)', () => {
    const backToA = evaluateExchange(
      exchangeInput({
        request: exchangeRequest({ target: 'agent-c' }),
        actorAgent: agentA,
        subject: { ...tokenFrom(hop2, 'jti-hop-2', 'txn-new'), aud: ['agent-a'] },
        audience: agentAudience(agent('agent-c')),
        chainAgents: chainMap(agentA, agentB),
      }),
    );
    expectRefusal(backToA, 'delegation_cycle', 'invalid_request');
  });
});

describe('evaluateExchange: refusals, each with its rule and OAuth error', () => {
  it.each<{ name: string; input: Partial<ExchangeInput>; rule: RuleCode; error: OAuthErrorCode }>([
    {
      name: 'refuses a disabled actor',
      input: { actorAgent: agent('agent-b', { status: 'disabled' }) },
      rule: 'client_authentication_failed',
      error: 'invalid_client',
    },
    {
      name: 'refuses an actor not allowed token exchange (CA-05)',
      input: { actorAgent: agent('agent-b', { grantTypes: [GRANT_CLIENT_CREDENTIALS] }) },
      rule: 'grant_type_not_allowed',
      error: 'unauthorized_client',
    },
    {
      name: 'refuses a subject token issued to another agent (ST-07)',
      input: { subject: selfToken({ aud: ['agent-c'] }) },
      rule: 'subject_token_wrong_audience',
      error: 'invalid_request',
    },
    {
      name: 'refuses a revoked subject token',
      input: { subject: selfToken({ revoked: true }) },
      rule: 'subject_token_revoked',
      error: 'invalid_request',
    },
    {
      name: 'refuses a chain holding a disabled agent (DC-07)',
      input: { chainAgents: chainMap(agent('agent-a', { status: 'disabled' })) },
      rule: 'chain_agent_inactive',
      error: 'invalid_request',
    },
    {
      name: 'refuses a subject token whose agent may no longer address the actor (ADR 0013)',
      input: { chainAgents: chainMap(agent('agent-a', { allowedAudiences: ['agent-c'] })) },
      rule: 'audience_withdrawn',
      error: 'invalid_request',
    },
    {
      name: 'refuses a scope withdrawn from the agent that obtained the subject token (ADR 0013)',
      input: {
        request: exchangeRequest({ requestedScopes: ['calendar.write'] }),
        chainAgents: chainMap(agent('agent-a', { allowedScopes: ['calendar.read'] })),
      },
      rule: 'scope_withdrawn',
      error: 'invalid_scope',
    },
    {
      name: 'refuses a revoked actor token',
      input: { actorToken: actorToken('agent-b', { revoked: true }) },
      rule: 'actor_token_invalid',
      error: 'invalid_request',
    },
    {
      name: "refuses another agent's actor token (DC-01)",
      input: { actorToken: actorToken('agent-n') },
      rule: 'actor_token_subject_mismatch',
      error: 'invalid_request',
    },
    {
      name: 'refuses an actor the subject token does not name in may_act (DC-03)',
      input: { subject: selfToken({ mayActSubjects: ['agent-x'] }) },
      rule: 'may_act_mismatch',
      error: 'invalid_request',
    },
    {
      name: 'refuses impersonation by an agent not flagged for it (DC-09)',
      input: { request: exchangeRequest({ impersonation: true }) },
      rule: 'impersonation_not_allowed',
      error: 'invalid_request',
    },
    {
      name: 'refuses an actor already in the chain (DC-06)',
      input: { actorAgent: agent('agent-a'), subject: selfToken({ aud: ['agent-a'] }) },
      rule: 'delegation_cycle',
      error: 'invalid_request',
    },
    {
      name: 'refuses a chain deeper than the service limit (DC-06)',
      input: { serviceMaxDepth: 1 },
      rule: 'delegation_too_deep',
      error: 'invalid_request',
    },
    {
      name: 'refuses a chain deeper than an earlier agent allows',
      input: { chainAgents: chainMap(agent('agent-a', { maxDelegationDepth: 1 })) },
      rule: 'delegation_too_deep',
      error: 'invalid_request',
    },
    {
      name: 'refuses a request with no target when the actor has several audiences',
      input: { request: exchangeRequest({ target: null }) },
      rule: 'target_missing',
      error: 'invalid_target',
    },
    {
      name: 'refuses an unregistered target (SA-01)',
      input: { request: exchangeRequest({ target: 'https://unknown.example' }), audience: null },
      rule: 'target_not_registered',
      error: 'invalid_target',
    },
    {
      name: "refuses a registered target outside the actor's audiences (SA-01)",
      input: {
        request: exchangeRequest({ target: 'https://billing.example' }),
        audience: resource('https://billing.example'),
      },
      rule: 'target_not_allowed',
      error: 'invalid_target',
    },
    {
      name: 'refuses a scope the subject does not hold, though the actor may (SA-03)',
      input: { request: exchangeRequest({ requestedScopes: ['mail.read'] }) },
      rule: 'scope_escalation',
      error: 'invalid_scope',
    },
    {
      name: 'refuses when no scope remains (SA-04)',
      input: { audience: resource(API, ['mail.read']) },
      rule: 'scope_empty',
      error: 'invalid_scope',
    },
    {
      name: 'refuses an expired subject token',
      input: { subject: selfToken({ exp: NOW }) },
      rule: 'subject_token_invalid',
      error: 'invalid_request',
    },
    {
      name: 'refuses an expired actor token',
      input: { actorToken: actorToken('agent-b', { exp: NOW - 1 }) },
      rule: 'subject_token_invalid',
      error: 'invalid_request',
    },
    {
      name: 'answers with the first failing rule: audience before revocation',
      input: { subject: selfToken({ aud: ['agent-c'], revoked: true }) },
      rule: 'subject_token_wrong_audience',
      error: 'invalid_request',
    },
    {
      name: 'answers with the first failing rule: chain policy before target and scope',
      input: { serviceMaxDepth: 1, audience: null, request: exchangeRequest({ requestedScopes: ['root'] }) },
      rule: 'delegation_too_deep',
      error: 'invalid_request',
    },
  ])('$name', ({ input, rule, error }) => {
    expectRefusal(evaluateExchange(exchangeInput(input)), rule, error);
  });
});

describe('evaluateExchange: lifetime', () => {
  it.each([
    { name: 'a subject expiring in 1 s', subjectExp: NOW + 1, actorExp: null, exp: NOW + 1 },
    { name: 'a subject expiring in 60 s', subjectExp: NOW + 60, actorExp: null, exp: NOW + 60 },
    { name: 'a subject expiring exactly at the TTL', subjectExp: NOW + 300, actorExp: null, exp: NOW + 300 },
    { name: 'a subject outliving the TTL', subjectExp: NOW + 10_000, actorExp: null, exp: NOW + 300 },
    { name: 'an actor token expiring first', subjectExp: NOW + 200, actorExp: NOW + 20, exp: NOW + 20 },
  ])('never outlives its inputs: $name', ({ subjectExp, actorExp, exp }) => {
    const decision = expectAccepted(
      evaluateExchange(
        exchangeInput({
          subject: selfToken({ exp: subjectExp }),
          actorToken: actorExp === null ? null : actorToken('agent-b', { exp: actorExp }),
        }),
      ),
    );
    expect(decision.exp).toBe(exp);
    expect(decision.exp).toBeLessThanOrEqual(subjectExp);
    expect(decision.exp - decision.iat).toBeLessThanOrEqual(300);
  });
});

describe('evaluateExchange: impersonation', () => {
  it.each([
    { name: 'issues no act for a flagged agent', mayImpersonate: true, act: null, impersonation: true },
    {
      name: 'still records the actor when delegation is asked of a flagged agent',
      mayImpersonate: true,
      act: { sub: 'agent-b', act: { sub: 'agent-a' } },
      impersonation: false,
    },
  ])('$name', ({ mayImpersonate, act, impersonation }) => {
    const decision = expectAccepted(
      evaluateExchange(
        exchangeInput({
          actorAgent: agent('agent-b', { mayImpersonate }),
          request: exchangeRequest({ impersonation }),
        }),
      ),
    );
    expect(decision).toMatchObject({
      sub: 'alice',
      clientId: 'agent-b',
      act,
      impersonation,
      depth: 2,
      chainAgents: ['agent-a', 'agent-b'],
      txn: 'txn-1',
      parentJti: 'jti-hop-1',
    });
  });

  it('refuses impersonation for an unflagged agent', () => {
    expectRefusal(
      evaluateExchange(exchangeInput({ request: exchangeRequest({ impersonation: true }) })),
      'impersonation_not_allowed',
      'invalid_request',
    );
  });
});

describe('evaluateExchange: trusted-issuer subject tokens', () => {
  const origin = trustedIssuer({ audiences: ['https://sts.example'] });
  const first = (subject: VerifiedToken) =>
    evaluateExchange(
      exchangeInput({
        actorAgent: agent('agent-a'),
        subject,
        request: exchangeRequest({ target: 'agent-b' }),
        audience: agentAudience(agent('agent-b')),
        chainAgents: chainMap(),
      }),
    );

  it.each([
    { name: 'accepts a token addressed to the actor', aud: ['agent-a'] },
    { name: 'accepts a token addressed to agent-sts by the issuer', aud: ['https://sts.example'] },
  ])('$name and starts a new chain', ({ aud }) => {
    expect(expectAccepted(first(userToken({ origin, aud })))).toMatchObject({
      sub: 'alice',
      act: { sub: 'agent-a' },
      txn: null,
      parentJti: null,
      chainAgents: ['agent-a'],
    });
  });

  it.each([
    { name: 'refuses a token addressed to another agent', aud: ['agent-c'] },
    {
      name: "refuses a token addressed to agent-sts by another issuer's name",
      aud: ['https://other-sts.example'],
    },
  ])('$name', ({ aud }) => {
    expectRefusal(first(userToken({ origin, aud })), 'subject_token_wrong_audience', 'invalid_request');
  });

  it("refuses a chain deeper than the issuer's limit", () => {
    const limited = trustedIssuer({ audiences: ['https://sts.example'], maxDelegationDepth: 0 });
    expectRefusal(first(userToken({ origin: limited })), 'delegation_too_deep', 'invalid_request');
  });
});

describe("evaluateExchange: an agent's own token as subject", () => {
  it('keeps the agent as subject and records the next agent as the first actor', () => {
    const agentA = agent('agent-a');
    const subject = selfToken({
      sub: 'agent-a',
      clientId: 'agent-a',
      actors: [],
      subjectIsAgent: true,
      jti: 'jti-root',
      txn: 'txn-root',
    });
    const decision = expectAccepted(
      evaluateExchange(exchangeInput({ subject, chainAgents: chainMap(agentA) })),
    );
    expect(decision).toMatchObject({
      sub: 'agent-a',
      clientId: 'agent-b',
      act: { sub: 'agent-b' },
      depth: 1,
      txn: 'txn-root',
      parentJti: 'jti-root',
      chainAgents: ['agent-a', 'agent-b'],
    });
  });
});

describe('evaluateExchange: a 10,000-deep act chain', () => {
  const actors = Array.from({ length: 10_000 }, (_, i) => `agent-${i}`);

  it('is refused while flattening the untrusted claim, reading no deeper than the limit', () => {
    // Count the levels the flattener opens: the cost is bounded by the limit, not the claim.
    let levelsRead = 0;
    let raw: unknown = undefined;
    for (const sub of actors) {
      const inner = raw;
      const level = inner === undefined ? { sub } : { sub, act: inner };
      raw = new Proxy(level, {
        get(target, key, receiver) {
          if (key === 'act') levelsRead += 1;
          return Reflect.get(target, key, receiver) as unknown;
        },
      });
    }
    expectRefusal(flattenActClaim(raw, 5), 'subject_token_invalid', 'invalid_request');
    expect(levelsRead).toBeLessThanOrEqual(7);
  });

  it('is refused as too deep even if it reaches the policy', () => {
    const subject = selfToken({ actors, clientId: actors.at(-1) ?? null });
    const result = evaluateExchange(
      exchangeInput({ subject, chainAgents: chainMap(...actors.map((id) => agent(id))) }),
    );
    expectRefusal(result, 'delegation_too_deep', 'invalid_request');
  });
});

describe('evaluateExchange: a privilege withdrawn after the subject token was issued (ADR 0013)', () => {
  it.each<{ name: string; requested: string[] | null; obtainerScopes: string[]; want: string[] }>([
    {
      name: 'grants what the agent that obtained it still holds when no scope is asked',
      requested: null,
      obtainerScopes: ['calendar.read'],
      want: ['calendar.read'],
    },
    {
      name: 'grants a standing scope that is asked for',
      requested: ['calendar.read'],
      obtainerScopes: ['calendar.read', 'mail.read'],
      want: ['calendar.read'],
    },
    {
      name: 'grants everything while nothing was withdrawn',
      requested: null,
      obtainerScopes: ['calendar.read', 'calendar.write'],
      want: ['calendar.read', 'calendar.write'],
    },
  ])('$name', ({ requested, obtainerScopes, want }) => {
    const decision = expectAccepted(
      evaluateExchange(
        exchangeInput({
          request: exchangeRequest({ requestedScopes: requested }),
          chainAgents: chainMap(agent('agent-a', { allowedScopes: obtainerScopes })),
        }),
      ),
    );
    expect(decision.scopes).toEqual(want);
  });
});
