import { expect } from 'vitest';

import type {
  AgentPolicy,
  AudienceEntry,
  ClientCredentialsInput,
  ExchangeInput,
  ExchangeRequest,
  OAuthErrorCode,
  Refusal,
  Result,
  RuleCode,
  TokenBinding,
  TokenOrigin,
  VerifiedToken,
} from '../../src/domain/index.js';
import { GRANT_CLIENT_CREDENTIALS, GRANT_TOKEN_EXCHANGE } from '../../src/domain/index.js';

/** A fixed clock: 2025-01-01T00:00:00Z in epoch seconds. */
export const NOW = 1_735_689_600;

export const API = 'https://calendar.example/api';

export function agent(id: string, overrides: Partial<AgentPolicy> = {}): AgentPolicy {
  return {
    id,
    status: 'enabled',
    allowedScopes: ['calendar.read', 'calendar.write', 'mail.read'],
    allowedAudiences: ['agent-b', 'agent-c', API],
    grantTypes: [GRANT_CLIENT_CREDENTIALS, GRANT_TOKEN_EXCHANGE],
    maxDelegationDepth: 4,
    tokenTtlSeconds: 300,
    mayImpersonate: false,
    dpopBoundAccessTokens: false,
    ...overrides,
  };
}

export const SELF: TokenOrigin = { kind: 'self' };

export const UNBOUND: TokenBinding = { kind: 'none' };

export function trustedIssuer(overrides: Partial<Extract<TokenOrigin, { kind: 'trusted_issuer' }>> = {}) {
  return {
    kind: 'trusted_issuer',
    issuer: 'https://idp.example',
    audiences: ['https://sts.example'],
    maxDelegationDepth: null,
    ...overrides,
  } as const satisfies TokenOrigin;
}

/** A user's token from the company IdP, addressed to agent-a (the start of most chains). */
export function userToken(overrides: Partial<VerifiedToken> = {}): VerifiedToken {
  return {
    origin: trustedIssuer(),
    sub: 'alice',
    aud: ['agent-a'],
    scopes: ['calendar.read', 'calendar.write'],
    exp: NOW + 3600,
    jti: 'idp-jti-1',
    txn: null,
    clientId: 'web-app',
    actors: [],
    mayActSubjects: null,
    revoked: false,
    subjectIsAgent: false,
    binding: UNBOUND,
    ...overrides,
  };
}

/** A token this service issued on an earlier hop: alice via agent-a, addressed to agent-b. */
export function selfToken(overrides: Partial<VerifiedToken> = {}): VerifiedToken {
  return {
    origin: SELF,
    sub: 'alice',
    aud: ['agent-b'],
    scopes: ['calendar.read', 'calendar.write'],
    exp: NOW + 200,
    jti: 'jti-hop-1',
    txn: 'txn-1',
    clientId: 'agent-a',
    actors: ['agent-a'],
    mayActSubjects: null,
    revoked: false,
    subjectIsAgent: false,
    binding: UNBOUND,
    ...overrides,
  };
}

/** An actor token of this service for `sub`. */
export function actorToken(sub: string, overrides: Partial<VerifiedToken> = {}): VerifiedToken {
  return selfToken({
    sub,
    aud: ['https://sts.example'],
    clientId: sub,
    actors: [],
    subjectIsAgent: true,
    jti: `jti-actor-${sub}`,
    txn: `txn-actor-${sub}`,
    exp: NOW + 600,
    ...overrides,
  });
}

export function resource(id: string, acceptedScopes: readonly string[] = ['calendar.read']): AudienceEntry {
  return { kind: 'resource', id, acceptedScopes };
}

export function agentAudience(policy: AgentPolicy, enabled = policy.status === 'enabled'): AudienceEntry {
  return { kind: 'agent', id: policy.id, acceptedScopes: policy.allowedScopes, enabled };
}

export function chainMap(...agents: AgentPolicy[]): ReadonlyMap<string, AgentPolicy> {
  return new Map(agents.map((entry) => [entry.id, entry]));
}

export function exchangeRequest(overrides: Partial<ExchangeRequest> = {}): ExchangeRequest {
  return { target: API, requestedScopes: null, impersonation: false, ...overrides };
}

/** agent-b exchanges selfToken() (alice via agent-a) for the calendar API. */
export function exchangeInput(overrides: Partial<ExchangeInput> = {}): ExchangeInput {
  return {
    request: exchangeRequest(),
    actorAgent: agent('agent-b'),
    subject: selfToken(),
    actorToken: null,
    audience: resource(API, ['calendar.read', 'calendar.write']),
    chainAgents: chainMap(agent('agent-a')),
    subjectAudienceAgents: [],
    serviceMaxDepth: 5,
    proofJkt: null,
    now: NOW,
    ...overrides,
  };
}

export function clientCredentialsInput(
  overrides: Partial<ClientCredentialsInput> = {},
): ClientCredentialsInput {
  return {
    agent: agent('agent-a'),
    target: API,
    requestedScopes: null,
    audience: resource(API, ['calendar.read', 'calendar.write']),
    proofJkt: null,
    now: NOW,
    ...overrides,
  };
}

/** An expected refusal, or null for "the rule holds". */
export type Expected = { readonly rule: RuleCode; readonly error: OAuthErrorCode } | null;

const PUBLIC_DESCRIPTION = /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/;

/** Asserts a result is a refusal with this rule and error, and a clean single-line description. */
export function expectRefusal(result: Result<unknown> | null, rule: RuleCode, error: OAuthErrorCode): void {
  expect(result).toMatchObject({ ok: false, rule, error });
  if (result !== null && !result.ok) expect(result.description).toMatch(PUBLIC_DESCRIPTION);
}

/** Asserts a check's outcome: `null` when the rule holds, else a refusal with this rule and error. */
export function expectCheck(actual: Refusal | null, expected: Expected): void {
  if (expected === null) expect(actual).toBeNull();
  else expectRefusal(actual, expected.rule, expected.error);
}

/** Unwraps an accepted result, failing the test with the refusal otherwise. */
export function expectAccepted<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`expected acceptance, got ${result.rule}: ${result.description}`);
  return result.value;
}
