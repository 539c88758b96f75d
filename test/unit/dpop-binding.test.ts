import { describe, expect, it } from 'vitest';

import {
  checkProofRequired,
  checkTokenHolder,
  evaluateClientCredentials,
  evaluateExchange,
} from '../../src/domain/index.js';
import type { TokenBinding } from '../../src/domain/index.js';
import {
  actorToken,
  agent,
  clientCredentialsInput,
  exchangeInput,
  expectAccepted,
  expectCheck,
  expectRefusal,
  selfToken,
  type Expected,
} from './fixtures.js';

const KEY = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
const OTHER_KEY = 'oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U';
const BOUND: TokenBinding = { kind: 'jkt', jkt: KEY };

describe('checkProofRequired (RFC 9449 §5.2)', () => {
  const missing: Expected = { rule: 'dpop_proof_missing', error: 'invalid_dpop_proof' };

  it.each<{ name: string; dpopBoundAccessTokens: boolean; proofJkt: string | null; want: Expected }>([
    {
      name: 'accepts a bearer request from an ordinary agent',
      dpopBoundAccessTokens: false,
      proofJkt: null,
      want: null,
    },
    {
      name: 'accepts a proof from an ordinary agent',
      dpopBoundAccessTokens: false,
      proofJkt: KEY,
      want: null,
    },
    {
      name: 'accepts a proof from a DPoP-bound agent',
      dpopBoundAccessTokens: true,
      proofJkt: KEY,
      want: null,
    },
    {
      name: 'refuses a DPoP-bound agent without a proof (CA-11)',
      dpopBoundAccessTokens: true,
      proofJkt: null,
      want: missing,
    },
  ])('$name', ({ dpopBoundAccessTokens, proofJkt, want }) => {
    expectCheck(checkProofRequired(agent('agent-a', { dpopBoundAccessTokens }), proofJkt), want);
  });
});

describe('checkTokenHolder (RFC 9449 §6)', () => {
  const subjectMismatch: Expected = { rule: 'subject_token_binding_mismatch', error: 'invalid_request' };
  const actorMismatch: Expected = { rule: 'actor_token_binding_mismatch', error: 'invalid_request' };

  it.each<{
    name: string;
    role: 'subject_token' | 'actor_token';
    binding: TokenBinding | null;
    proofJkt: string | null;
    want: Expected;
  }>([
    {
      name: 'accepts an unbound token without a proof',
      role: 'subject_token',
      binding: { kind: 'none' },
      proofJkt: null,
      want: null,
    },
    {
      name: 'accepts an unbound token with any proof',
      role: 'subject_token',
      binding: { kind: 'none' },
      proofJkt: KEY,
      want: null,
    },
    {
      name: 'accepts a bound token with a proof of its key',
      role: 'subject_token',
      binding: BOUND,
      proofJkt: KEY,
      want: null,
    },
    {
      name: 'accepts no token at all (no actor token)',
      role: 'actor_token',
      binding: null,
      proofJkt: null,
      want: null,
    },
    {
      name: 'refuses a bound subject token without a proof',
      role: 'subject_token',
      binding: BOUND,
      proofJkt: null,
      want: subjectMismatch,
    },
    {
      name: 'refuses a bound subject token with a proof of another key',
      role: 'subject_token',
      binding: BOUND,
      proofJkt: OTHER_KEY,
      want: subjectMismatch,
    },
    {
      name: 'refuses a subject token bound by a method it cannot check, even with a proof',
      role: 'subject_token',
      binding: { kind: 'unsupported' },
      proofJkt: KEY,
      want: subjectMismatch,
    },
    {
      name: 'refuses a bound actor token with a proof of another key',
      role: 'actor_token',
      binding: BOUND,
      proofJkt: OTHER_KEY,
      want: actorMismatch,
    },
    {
      name: 'refuses an actor token bound by a method it cannot check',
      role: 'actor_token',
      binding: { kind: 'unsupported' },
      proofJkt: null,
      want: actorMismatch,
    },
  ])('$name', ({ role, binding, proofJkt, want }) => {
    const token = binding === null ? null : selfToken({ binding });
    expectCheck(checkTokenHolder(token, role, proofJkt), want);
  });
});

describe('DPoP binding in the grant policies', () => {
  it('binds a client_credentials token to the proof key, and leaves a bearer token unbound', () => {
    expect(expectAccepted(evaluateClientCredentials(clientCredentialsInput({ proofJkt: KEY }))).jkt).toBe(
      KEY,
    );
    expect(expectAccepted(evaluateClientCredentials(clientCredentialsInput())).jkt).toBeNull();
  });

  it('refuses client_credentials to a DPoP-bound agent without a proof', () => {
    const input = clientCredentialsInput({ agent: agent('agent-a', { dpopBoundAccessTokens: true }) });
    expectRefusal(evaluateClientCredentials(input), 'dpop_proof_missing', 'invalid_dpop_proof');
  });

  it('binds an exchanged token to the proof key, whatever bound its subject', () => {
    const unboundSubject = expectAccepted(evaluateExchange(exchangeInput({ proofJkt: OTHER_KEY })));
    expect(unboundSubject.jkt).toBe(OTHER_KEY);
    const boundSubject = exchangeInput({ subject: selfToken({ binding: BOUND }), proofJkt: KEY });
    expect(expectAccepted(evaluateExchange(boundSubject)).jkt).toBe(KEY);
  });

  it('refuses the exchange of a bound subject token by a holder of another key', () => {
    const input = exchangeInput({ subject: selfToken({ binding: BOUND }), proofJkt: OTHER_KEY });
    expectRefusal(evaluateExchange(input), 'subject_token_binding_mismatch', 'invalid_request');
  });

  it('judges the audience before the binding: a token for another agent is refused as such', () => {
    const input = exchangeInput({ subject: selfToken({ aud: ['agent-z'], binding: BOUND }) });
    expectRefusal(evaluateExchange(input), 'subject_token_wrong_audience', 'invalid_request');
  });

  it('refuses an exchange with a bound actor token and no proof of its key', () => {
    const input = exchangeInput({ actorToken: actorToken('agent-b', { binding: BOUND }) });
    expectRefusal(evaluateExchange(input), 'actor_token_binding_mismatch', 'invalid_request');
  });

  it('refuses an exchange by a DPoP-bound agent without a proof', () => {
    const input = exchangeInput({ actorAgent: agent('agent-b', { dpopBoundAccessTokens: true }) });
    expectRefusal(evaluateExchange(input), 'dpop_proof_missing', 'invalid_dpop_proof');
  });
});
