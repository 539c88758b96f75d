import { describe, expect, it } from 'vitest';

import { checkChainLiveness } from '../../src/domain/chain-liveness.js';
import { actorNameHere, isQualifiedActor, subjectNameHere } from '../../src/domain/foreign-actor.js';
import {
  evaluateGrantRedemption,
  evaluateGrantRequest,
  type GrantSourcePolicy,
  type GrantTargetPolicy,
  type RedemptionInput,
  type VerifiedGrant,
} from '../../src/domain/identity-chaining.js';
import { GRANT_JWT_BEARER, GRANT_TOKEN_EXCHANGE } from '../../src/domain/types.js';
import {
  agent,
  chainMap,
  exchangeInput,
  exchangeRequest,
  expectAccepted,
  expectCheck,
  expectRefusal,
  NOW,
  resource,
  selfToken,
  UNBOUND,
  type Expected,
} from './fixtures.js';

const A = 'https://as.a.example';
const B = 'https://as.b.example';
const LEDGER = 'https://ledger.b.example/api';

describe('actorNameHere', () => {
  it.each([
    { name: "qualifies the peer's own agent by the peer", actor: 'agent-a', want: `agent-a@${A}` },
    {
      name: 'keeps an actor an earlier domain qualified',
      actor: 'agent-c@https://as.c.example',
      want: 'agent-c@https://as.c.example',
    },
    { name: 'unqualifies one of our own agents coming home', actor: `agent-b@${B}`, want: 'agent-b' },
    { name: 'never unqualifies an empty name', actor: `@${B}`, want: `@${B}` },
  ])('$name', ({ actor, want }) => {
    expect(actorNameHere(actor, A, B)).toBe(want);
  });

  it('names no local agent id: a qualified name holds @', () => {
    expect(isQualifiedActor(`agent-a@${A}`)).toBe(true);
    expect(isQualifiedActor('agent-a')).toBe(false);
  });

  it.each([
    { mapping: 'preserve' as const, want: 'alice' },
    { mapping: 'qualify' as const, want: `alice@${A}` },
  ])('maps the subject with $mapping', ({ mapping, want }) => {
    expect(subjectNameHere('alice', mapping, A)).toBe(want);
  });
});

const target: GrantTargetPolicy = {
  issuer: B,
  grantRequesters: ['agent-b'],
  grantScopes: ['calendar.read'],
  grantTtlSeconds: 60,
};

describe('evaluateGrantRequest (domain A, token exchange for a grant)', () => {
  it('issues a short-lived grant for the peer, the requester in the act chain', () => {
    const decision = expectAccepted(
      evaluateGrantRequest(
        exchangeInput({ request: exchangeRequest({ target: B }), audience: null }),
        target,
      ),
    );
    expect(decision).toMatchObject({
      sub: 'alice',
      aud: B,
      clientId: 'agent-b',
      scopes: ['calendar.read'],
      act: { sub: 'agent-b', act: { sub: 'agent-a' } },
      depth: 2,
      txn: 'txn-1',
      parentJti: 'jti-hop-1',
      iat: NOW,
      exp: NOW + 60,
    });
  });

  it.each<{
    name: string;
    input: Parameters<typeof exchangeInput>[0];
    peer?: Partial<GrantTargetPolicy>;
    want: Expected;
  }>([
    {
      name: 'refuses an agent the peer registration does not name',
      input: { actorAgent: agent('agent-c') },
      want: { rule: 'target_not_allowed', error: 'invalid_target' },
    },
    {
      name: 'refuses impersonation: a grant always carries the chain',
      input: {
        request: exchangeRequest({ target: B, impersonation: true }),
        actorAgent: agent('agent-b', { mayImpersonate: true }),
      },
      want: { rule: 'impersonation_not_allowed', error: 'invalid_request' },
    },
    {
      name: 'refuses a scope the peer does not take in grants',
      input: { request: exchangeRequest({ target: B, requestedScopes: ['calendar.write'] }) },
      want: { rule: 'scope_escalation', error: 'invalid_scope' },
    },
    {
      name: 'refuses a scope wider than the subject token',
      input: { request: exchangeRequest({ target: B, requestedScopes: ['mail.read'] }) },
      peer: { grantScopes: ['calendar.read', 'mail.read'] },
      want: { rule: 'scope_escalation', error: 'invalid_scope' },
    },
    {
      name: 'refuses a cycle, as any hop',
      input: { actorAgent: agent('agent-a'), subject: selfToken({ aud: ['agent-a'] }) },
      peer: { grantRequesters: ['agent-a'] },
      want: { rule: 'delegation_cycle', error: 'invalid_request' },
    },
    {
      name: 'refuses a chain too deep, as any hop',
      input: { serviceMaxDepth: 1 },
      want: { rule: 'delegation_too_deep', error: 'invalid_request' },
    },
  ])('$name', ({ input, peer, want }) => {
    const result = evaluateGrantRequest(
      exchangeInput({ request: exchangeRequest({ target: B }), audience: null, ...input }),
      { ...target, ...peer },
    );
    if (want === null) expectAccepted(result);
    else expectRefusal(result, want.rule, want.error);
  });

  it('never outlives the subject token', () => {
    const decision = expectAccepted(
      evaluateGrantRequest(
        exchangeInput({
          request: exchangeRequest({ target: B }),
          audience: null,
          subject: selfToken({ exp: NOW + 20 }),
        }),
        target,
      ),
    );
    expect(decision.exp).toBe(NOW + 20);
  });
});

const source: GrantSourcePolicy = {
  issuer: A,
  redeemingClients: ['b-client'],
  acceptedScopes: ['ledger.read', 'ledger.write'],
  subjectMapping: 'preserve',
  maxDelegationDepth: null,
};

function grant(overrides: Partial<VerifiedGrant> = {}): VerifiedGrant {
  return {
    issuer: A,
    sub: 'alice',
    scopes: ['ledger.read'],
    exp: NOW + 60,
    jti: 'grant-1',
    txn: 'txn-a',
    clientId: 'agent-a2',
    actors: ['agent-a1', 'agent-a2'],
    binding: UNBOUND,
    ...overrides,
  };
}

const bClient = agent('b-client', {
  allowedScopes: ['ledger.read', 'ledger.write'],
  allowedAudiences: [LEDGER],
  grantTypes: [GRANT_JWT_BEARER, GRANT_TOKEN_EXCHANGE],
});

function redemption(overrides: Partial<RedemptionInput> = {}): RedemptionInput {
  return {
    grant: grant(),
    peer: source,
    client: bClient,
    target: LEDGER,
    requestedScopes: null,
    audience: resource(LEDGER, ['ledger.read', 'ledger.write']),
    chainAgents: chainMap(),
    serviceMaxDepth: 8,
    proofJkt: null,
    ownIssuer: B,
    now: NOW,
    ...overrides,
  };
}

describe('evaluateGrantRedemption (domain B, the JWT bearer grant)', () => {
  it("issues an access token whose act chain carries A's hops, qualified, and a new local chain", () => {
    const decision = expectAccepted(evaluateGrantRedemption(redemption()));
    expect(decision).toEqual({
      sub: 'alice',
      aud: LEDGER,
      clientId: 'b-client',
      scopes: ['ledger.read'],
      act: { sub: 'b-client', act: { sub: `agent-a2@${A}`, act: { sub: `agent-a1@${A}` } } },
      depth: 3,
      depthLimit: null,
      rootIssuer: A,
      iat: NOW,
      exp: NOW + 60,
      txn: null,
      parentJti: null,
      chainAgents: [`agent-a1@${A}`, `agent-a2@${A}`, 'b-client'],
      impersonation: false,
      jkt: null,
    });
  });

  it('qualifies the subject when the peer registration says so', () => {
    const decision = expectAccepted(
      evaluateGrantRedemption(redemption({ peer: { ...source, subjectMapping: 'qualify' } })),
    );
    expect(decision.sub).toBe(`alice@${A}`);
  });

  it.each<{ name: string; input: Partial<RedemptionInput>; want: Expected }>([
    {
      name: 'refuses a disabled client',
      input: { client: { ...bClient, status: 'disabled' } },
      want: { rule: 'client_authentication_failed', error: 'invalid_client' },
    },
    {
      name: 'refuses a client not allowed the JWT bearer grant',
      input: { client: { ...bClient, grantTypes: [GRANT_TOKEN_EXCHANGE] } },
      want: { rule: 'grant_type_not_allowed', error: 'unauthorized_client' },
    },
    {
      name: 'refuses a grant of an unregistered domain',
      input: { peer: null },
      want: { rule: 'peer_not_registered', error: 'invalid_grant' },
    },
    {
      name: 'refuses a client the peer registration does not name',
      input: { peer: { ...source, redeemingClients: ['someone-else'] } },
      want: { rule: 'peer_client_not_allowed', error: 'unauthorized_client' },
    },
    {
      name: 'refuses a DPoP-bound grant without a proof of its key',
      input: { grant: grant({ binding: { kind: 'jkt', jkt: 'thumb' } }) },
      want: { rule: 'authorization_grant_invalid', error: 'invalid_grant' },
    },
    {
      name: 'accepts a DPoP-bound grant with a proof of its key',
      input: { grant: grant({ binding: { kind: 'jkt', jkt: 'thumb' } }), proofJkt: 'thumb' },
      want: null,
    },
    {
      name: 'refuses a client already in the chain (a cycle across the border)',
      input: { grant: grant({ actors: ['agent-a1', `b-client@${B}`, 'agent-a2'] }) },
      want: { rule: 'delegation_cycle', error: 'invalid_request' },
    },
    {
      name: 'refuses a chain that already repeats an agent',
      input: { grant: grant({ actors: ['agent-a1', 'agent-a1'] }) },
      want: { rule: 'delegation_cycle', error: 'invalid_request' },
    },
    {
      name: 'refuses a chain holding one of our agents that is disabled',
      input: {
        grant: grant({ actors: [`b-old@${B}`, 'agent-a2'] }),
        chainAgents: chainMap(agent('b-old', { status: 'disabled' })),
      },
      want: { rule: 'chain_agent_inactive', error: 'invalid_request' },
    },
    {
      name: 'refuses a chain too deep for the service, counting the hops from A',
      input: { serviceMaxDepth: 2 },
      want: { rule: 'delegation_too_deep', error: 'invalid_request' },
    },
    {
      name: 'refuses a chain too deep for the peer registration',
      input: { peer: { ...source, maxDelegationDepth: 2 } },
      want: { rule: 'delegation_too_deep', error: 'invalid_request' },
    },
    {
      name: 'refuses a chain too deep for the client',
      input: { client: { ...bClient, maxDelegationDepth: 2 } },
      want: { rule: 'delegation_too_deep', error: 'invalid_request' },
    },
    {
      name: 'refuses an unregistered target',
      input: { audience: null },
      want: { rule: 'target_not_registered', error: 'invalid_target' },
    },
    {
      name: 'refuses a scope the grant did not carry',
      input: { requestedScopes: ['ledger.write'] },
      want: { rule: 'scope_escalation', error: 'invalid_scope' },
    },
    {
      name: 'refuses a scope the peer may not confer here',
      input: { grant: grant({ scopes: ['ledger.admin'] }) },
      want: { rule: 'scope_empty', error: 'invalid_scope' },
    },
    {
      name: 'refuses an expired grant',
      input: { grant: grant({ exp: NOW - 1 }) },
      want: { rule: 'authorization_grant_invalid', error: 'invalid_grant' },
    },
  ])('$name', ({ input, want }) => {
    const result = evaluateGrantRedemption(redemption(input));
    if (want === null) expectAccepted(result);
    else expectRefusal(result, want.rule, want.error);
  });

  it('never outlives the grant', () => {
    const decision = expectAccepted(evaluateGrantRedemption(redemption({ grant: grant({ exp: NOW + 10 }) })));
    expect(decision.exp).toBe(NOW + 10);
  });
});

describe('chain liveness of a chain that crossed in from a peer', () => {
  const crossed = selfToken({
    actors: [`agent-a1@${A}`, 'b-client'],
    clientId: 'b-client',
    lineage: {
      chainAgents: [`agent-a1@${A}`, 'b-client'],
      depth: 2,
      depthLimit: null,
      rootIssuer: A,
      rootIsPeer: true,
    },
  });

  it.each<{ name: string; subject: typeof crossed; want: Expected }>([
    { name: 'leaves foreign actors to their own domain', subject: crossed, want: null },
    {
      name: 'still refuses a foreign-looking actor in a chain that did not cross in',
      subject: { ...crossed, lineage: { ...crossed.lineage!, rootIsPeer: false } },
      want: { rule: 'chain_agent_inactive', error: 'invalid_request' },
    },
  ])('$name', ({ subject, want }) => {
    expectCheck(checkChainLiveness(subject, chainMap(agent('b-client'))), want);
  });
});
