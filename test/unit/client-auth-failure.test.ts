import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import {
  claimedClientId,
  clientAuthFailureDescription,
  clientAuthFailureReason,
  standingDetail,
} from '../../src/protocol/client-auth-failure.js';

describe('clientAuthFailureReason', () => {
  it.each([
    // oidc-provider (shared/client_auth.js, shared/jwt_client_auth.js, helpers/jwt.js)
    ['client not found', 'client_unknown'],
    [
      'the provided authentication mechanism does not match the registered client authentication method',
      'auth_method_mismatch',
    ],
    ['invalid secret provided', 'client_secret_mismatch'],
    ['alg mismatch', 'client_assertion_alg'],
    ['sub (JWT subject) must be provided in the client_assertion JWT', 'client_assertion_subject'],
    ['expiration must be specified in the client_assertion JWT', 'client_assertion_expired'],
    ['unique jti (JWT ID) must be provided in the client_assertion JWT', 'client_assertion_jti'],
    ['iss (JWT issuer) must be provided in the client_assertion JWT', 'client_assertion_issuer'],
    ['iss (JWT issuer) must be the client_id', 'client_assertion_issuer'],
    ['aud (JWT audience) must be provided in the client_assertion JWT', 'client_assertion_audience'],
    [
      'audience (aud) must equal the endpoint url, issuer identifier or token endpoint url',
      'client_assertion_audience',
    ],
    ['client assertion tokens must only be used once', 'client_assertion_replayed'],
    ['jwt expired', 'client_assertion_expired'],
    ['jwt not active yet', 'client_assertion_not_yet_valid'],
    ['jwt issued in the future', 'client_assertion_not_yet_valid'],
    // jose, at introspection and revocation
    ['signature verification failed', 'client_assertion_signature'],
    ['no applicable key found in the JSON Web Key Set', 'client_assertion_signature'],
    ['"exp" claim timestamp check failed', 'client_assertion_expired'],
    ['"nbf" claim timestamp check failed', 'client_assertion_not_yet_valid'],
    // this service
    ['client assertion aud must be the issuer', 'client_assertion_audience'],
    ['client assertion typ is not accepted', 'client_assertion_typ'],
    ['client assertion lifetime exceeds five minutes', 'client_assertion_lifetime'],
    ['client assertion alg is not accepted', 'client_assertion_alg'],
    ['invalid client assertion', 'client_assertion_malformed'],
    ['the client has no usable keys', 'client_keys_unavailable'],
    ['the authentication method does not match the registered one', 'auth_method_mismatch'],
    ['client_id contains a control character', 'client_id_malformed'],
    ['no client authentication was provided', 'client_authentication_missing'],
    [standingDetail('disabled'), 'client_disabled'],
    [standingDetail('deleted'), 'client_deleted'],
    [standingDetail(null), 'client_unknown'],
    ['something nobody anticipated', 'client_authentication_failed'],
  ])('%s → %s', (detail, reason) => {
    expect(clientAuthFailureReason(detail)).toBe(reason);
  });

  /** Every literal reason in a source file, by a pattern whose first group is the text. */
  function literals(file: string, pattern: RegExp): string[] {
    return [...readFileSync(file, 'utf8').matchAll(pattern)].map((match) => match[1] ?? '');
  }

  it("classifies every client-assertion refusal of oidc-provider's token endpoint", () => {
    const require = createRequire(import.meta.url);
    const shared = path.join(path.dirname(require.resolve('oidc-provider')), 'shared');
    const details = ['client_auth.js', 'jwt_client_auth.js']
      .flatMap((file) => literals(path.join(shared, file), /InvalidClientAuth\('([^']+)'\)/g))
      // mTLS and attestation are not offered (provider.ts clientAuthMethods).
      .filter((detail) => !/certificate|attestation/i.test(detail));
    expect(details.length).toBeGreaterThan(10);
    for (const detail of details)
      expect(clientAuthFailureReason(detail), detail).not.toBe('client_authentication_failed');
  });

  it('classifies every refusal of the shared client-assertion rules', () => {
    const details = literals('src/protocol/client-assertion-claims.ts', /return '([^']+)'/g);
    expect(details.length).toBeGreaterThan(5);
    for (const detail of details)
      expect(clientAuthFailureReason(detail), detail).not.toBe('client_authentication_failed');
  });
});

describe('clientAuthFailureDescription', () => {
  it('leads with the reason code and keeps the detail', () => {
    expect(clientAuthFailureDescription('client assertion aud must be the issuer')).toBe(
      'client_assertion_audience: client assertion aud must be the issuer',
    );
  });
});

describe('claimedClientId', () => {
  const basic = (user: string) => 'Basic ' + Buffer.from(`${user}:secret`).toString('base64');
  const assertion = (payload: object) =>
    ['{"alg":"ES256"}', JSON.stringify(payload), 'sig']
      .map((part) => Buffer.from(part).toString('base64url'))
      .join('.');

  it.each([
    {
      name: 'the Basic user, form-urldecoded',
      authorization: basic('agent%3Aa+b'),
      params: {},
      want: 'agent:a b',
    },
    {
      name: 'the body client_id',
      authorization: undefined,
      params: { client_id: 'agent-b' },
      want: 'agent-b',
    },
    {
      name: 'the unverified sub of a client assertion',
      authorization: undefined,
      params: { client_assertion: assertion({ sub: 'agent-c' }) },
      want: 'agent-c',
    },
    {
      name: 'nothing from a malformed assertion',
      authorization: undefined,
      params: { client_assertion: 'x' },
      want: null,
    },
    {
      name: 'nothing from a Basic header without a colon',
      authorization: 'Basic YWJj',
      params: {},
      want: null,
    },
    { name: 'nothing at all', authorization: undefined, params: {}, want: null },
    {
      name: 'a NUL as it was sent',
      authorization: undefined,
      params: { client_id: 'a\u0000' },
      want: 'a\u0000',
    },
  ])('$name', ({ authorization, params, want }) => {
    expect(claimedClientId(authorization, params)).toBe(want);
  });
});
