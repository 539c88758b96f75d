import { describe, expect, it } from 'vitest';

import {
  evaluateTxnTokenRequest,
  extendContext,
  transactionContext,
  type JsonObject,
  type OAuthErrorCode,
  type RuleCode,
  type TxnTokenInput,
  type TxnTokenRequest,
  type VerifiedToken,
} from '../../src/domain/index.js';
import {
  actorToken,
  agent,
  chainMap,
  expectAccepted,
  expectRefusal,
  NOW,
  selfToken,
  userToken,
} from './fixtures.js';

const TRUST_DOMAIN = 'trust-domain.example';
const workload = (id: string, overrides = {}) =>
  agent(id, {
    allowedAudiences: [TRUST_DOMAIN],
    allowedScopes: ['calendar.read', 'calendar.write'],
    ...overrides,
  });

function txnRequest(overrides: Partial<TxnTokenRequest> = {}): TxnTokenRequest {
  return {
    target: TRUST_DOMAIN,
    requestedScopes: ['calendar.read'],
    impersonation: false,
    requestContext: null,
    requestDetails: null,
    ...overrides,
  };
}

/** A Txn-Token of this service: alice via gateway, for the Trust Domain. */
function txnToken(overrides: Partial<VerifiedToken> = {}): VerifiedToken {
  return selfToken({
    aud: [TRUST_DOMAIN],
    clientId: 'gateway',
    actors: ['gateway'],
    jti: 'jti-txn-1',
    txn: 'txn-1',
    exp: NOW + 60,
    ...overrides,
  });
}

/** The gateway turns alice's IdP token (addressed to it) into a Txn-Token. */
function input(overrides: Partial<TxnTokenInput> = {}): TxnTokenInput {
  return {
    request: txnRequest(),
    trustDomain: TRUST_DOMAIN,
    lifetimeSeconds: 60,
    actorAgent: workload('gateway'),
    subject: userToken({ aud: ['gateway'] }),
    replaced: null,
    actorToken: null,
    chainAgents: chainMap(),
    subjectAudienceAgents: [],
    serviceMaxDepth: 5,
    proofJkt: null,
    now: NOW,
    ...overrides,
  };
}

/** The orders workload replaces the gateway's Txn-Token. */
function replacement(overrides: Partial<TxnTokenInput> = {}): TxnTokenInput {
  return input({
    actorAgent: workload('orders'),
    subject: txnToken(),
    replaced: { rctx: { req_ip: '192.0.2.1' }, tctx: { action: 'BUY', quantity: '100' } },
    chainAgents: chainMap(workload('gateway')),
    ...overrides,
  });
}

describe('evaluateTxnTokenRequest: what a Txn-Token holds', () => {
  it('issues for the Trust Domain, keeping the subject and naming the requester', () => {
    const decision = expectAccepted(
      evaluateTxnTokenRequest(
        input({ request: txnRequest({ requestContext: { req_ip: '192.0.2.1' }, requestDetails: { a: 1 } }) }),
      ),
    );
    expect(decision).toMatchObject({
      sub: 'alice',
      aud: TRUST_DOMAIN,
      requester: 'gateway',
      scopes: ['calendar.read'],
      act: { sub: 'gateway' },
      depth: 1,
      rootIssuer: 'https://idp.example',
      iat: NOW,
      exp: NOW + 60,
      txn: null,
      parentJti: null,
      replacement: false,
      rctx: { req_ip: '192.0.2.1' },
      tctx: { a: 1 },
    });
  });

  it('never outlives its subject token', () => {
    const decision = expectAccepted(
      evaluateTxnTokenRequest(input({ subject: userToken({ aud: ['gateway'], exp: NOW + 10 }) })),
    );
    expect(decision.exp).toBe(NOW + 10);
  });

  it('replaces a Txn-Token keeping txn, sub and aud, appending the requester to act', () => {
    const decision = expectAccepted(
      evaluateTxnTokenRequest(replacement({ request: txnRequest({ requestDetails: { venue: 'X' } }) })),
    );
    expect(decision).toMatchObject({
      sub: 'alice',
      aud: TRUST_DOMAIN,
      txn: 'txn-1',
      parentJti: 'jti-txn-1',
      requester: 'orders',
      act: { sub: 'orders', act: { sub: 'gateway' } },
      depth: 2,
      exp: NOW + 60,
      replacement: true,
      rctx: { req_ip: '192.0.2.1' },
      tctx: { action: 'BUY', quantity: '100', venue: 'X' },
    });
  });
});

describe('evaluateTxnTokenRequest: refusals', () => {
  const cases: {
    name: string;
    input: TxnTokenInput;
    rule: RuleCode;
    error: OAuthErrorCode;
  }[] = [
    {
      name: 'a disabled requester',
      input: input({ actorAgent: workload('gateway', { status: 'disabled' }) }),
      rule: 'client_authentication_failed',
      error: 'invalid_client',
    },
    {
      name: 'an audience other than the Trust Domain',
      input: input({ request: txnRequest({ target: 'other.example' }) }),
      rule: 'trust_domain_mismatch',
      error: 'invalid_target',
    },
    {
      name: 'no audience at all',
      input: input({ request: txnRequest({ target: null }) }),
      rule: 'trust_domain_mismatch',
      error: 'invalid_target',
    },
    {
      name: 'a requester that is no workload of the Trust Domain',
      input: input({ actorAgent: agent('gateway') }),
      rule: 'target_not_allowed',
      error: 'invalid_target',
    },
    {
      name: 'no scope',
      input: input({ request: txnRequest({ requestedScopes: null }) }),
      rule: 'invalid_parameters',
      error: 'invalid_request',
    },
    {
      name: 'impersonation',
      input: input({ request: txnRequest({ impersonation: true }) }),
      rule: 'impersonation_not_allowed',
      error: 'invalid_request',
    },
    {
      name: 'a subject token issued to another agent',
      input: input({ subject: userToken({ aud: ['orders'] }) }),
      rule: 'subject_token_wrong_audience',
      error: 'invalid_request',
    },
    {
      name: 'a Txn-Token of another Trust Domain to replace',
      input: replacement({ subject: txnToken({ aud: ['other.example'] }) }),
      rule: 'subject_token_wrong_audience',
      error: 'invalid_request',
    },
    {
      name: 'a revoked Txn-Token to replace',
      input: replacement({ subject: txnToken({ revoked: true }) }),
      rule: 'subject_token_revoked',
      error: 'invalid_request',
    },
    {
      name: 'a Txn-Token whose chain holds a disabled agent',
      input: replacement({ chainAgents: chainMap(workload('gateway', { status: 'disabled' })) }),
      rule: 'chain_agent_inactive',
      error: 'invalid_request',
    },
    {
      name: 'a Txn-Token whose requester lost the Trust Domain',
      input: replacement({ chainAgents: chainMap(agent('gateway')) }),
      rule: 'audience_withdrawn',
      error: 'invalid_request',
    },
    {
      name: 'a requester already in the chain',
      input: replacement({ actorAgent: workload('gateway') }),
      rule: 'delegation_cycle',
      error: 'invalid_request',
    },
    {
      name: 'a chain deeper than the requester allows',
      input: replacement({ actorAgent: workload('orders', { maxDelegationDepth: 1 }) }),
      rule: 'delegation_too_deep',
      error: 'invalid_request',
    },
    {
      name: 'a scope the subject token does not hold',
      input: input({ request: txnRequest({ requestedScopes: ['mail.read'] }) }),
      rule: 'scope_escalation',
      error: 'invalid_scope',
    },
    {
      name: 'a scope the requester may not hold',
      input: input({ actorAgent: workload('gateway', { allowedScopes: ['calendar.write'] }) }),
      rule: 'scope_escalation',
      error: 'invalid_scope',
    },
    {
      name: 'a replacement widening the scope',
      input: replacement({
        subject: txnToken({ scopes: ['calendar.read'] }),
        request: txnRequest({ requestedScopes: ['calendar.read', 'calendar.write'] }),
      }),
      rule: 'scope_escalation',
      error: 'invalid_scope',
    },
    {
      name: 'a replacement changing the transaction context',
      input: replacement({ request: txnRequest({ requestDetails: { quantity: '1000' } }) }),
      rule: 'txn_context_conflict',
      error: 'invalid_request',
    },
    {
      name: 'a replacement changing the request context',
      input: replacement({ request: txnRequest({ requestContext: { req_ip: '203.0.113.9' } }) }),
      rule: 'txn_context_conflict',
      error: 'invalid_request',
    },
    {
      name: 'an expired Txn-Token to replace',
      input: replacement({ subject: txnToken({ exp: NOW }) }),
      rule: 'subject_token_invalid',
      error: 'invalid_request',
    },
    {
      name: 'an actor token of another agent',
      input: input({ actorToken: actorToken('orders') }),
      rule: 'actor_token_subject_mismatch',
      error: 'invalid_request',
    },
  ];

  it.each(cases)('refuses $name', ({ input: given, rule, error }) => {
    expectRefusal(evaluateTxnTokenRequest(given), rule, error);
  });
});

describe('transaction context of a replacement', () => {
  const base: JsonObject = { action: 'BUY', limits: { max: 10 }, tags: ['a', 'b'] };
  it.each<{ name: string; added: JsonObject | null; want: JsonObject | null | false }>([
    { name: 'nothing added keeps the input', added: null, want: base },
    { name: 'a new member is added', added: { venue: 'X' }, want: { ...base, venue: 'X' } },
    { name: 'the same value asserted again is no change', added: { limits: { max: 10 } }, want: base },
    { name: 'arrays compare element by element', added: { tags: ['a', 'b'] }, want: base },
    { name: 'a changed value conflicts', added: { action: 'SELL' }, want: false },
    { name: 'a changed nested value conflicts', added: { limits: { max: 11 } }, want: false },
    { name: 'a reordered array conflicts', added: { tags: ['b', 'a'] }, want: false },
    { name: 'a value of another type conflicts', added: { action: null }, want: false },
  ])('$name', ({ added, want }) => {
    expect(extendContext(base, added)).toEqual(want);
  });

  it('takes the request context as it is for a first Txn-Token', () => {
    expect(transactionContext(txnRequest({ requestContext: { a: 1 } }), null)).toEqual({
      ok: true,
      value: { rctx: { a: 1 }, tctx: null },
    });
  });

  it('adds to an input without context', () => {
    expect(extendContext(null, { a: 1 })).toEqual({ a: 1 });
  });
});
