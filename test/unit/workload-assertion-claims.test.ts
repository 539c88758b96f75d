import { describe, expect, it } from 'vitest';
import { checkWorkloadAssertion } from '../../src/protocol/workload-assertion-claims.js';

const ISSUER = 'https://sts.example';
const CLUSTER = 'https://oidc.cluster.example';
const NOW = 1_800_000_000;
const context = { issuer: ISSUER, clusterIssuer: CLUSTER, now: NOW, clockToleranceSeconds: 15 };
const HEADER = { alg: 'ES256', typ: 'JWT' };

const svid = {
  sub: 'spiffe://example.org/ns/a/sa/planner',
  aud: [ISSUER],
  iat: NOW,
  exp: NOW + 300,
  jti: 'j-1',
};
const saToken = {
  iss: CLUSTER,
  sub: 'system:serviceaccount:agents:indexer',
  aud: [ISSUER],
  iat: NOW,
  nbf: NOW,
  exp: NOW + 600,
  jti: 'j-2',
  'kubernetes.io': {
    namespace: 'agents',
    serviceaccount: { name: 'indexer', uid: 'u-1' },
    pod: { name: 'indexer-0', uid: 'p-1' },
  },
};

function problem(kind: 'spiffe' | 'kubernetes', claims: Record<string, unknown>, header = HEADER) {
  const result = checkWorkloadAssertion(kind, claims, header, context);
  return result.ok ? null : result.problem;
}

describe('checkWorkloadAssertion: the RFC 10070 rules hold for both kinds', () => {
  it.each<[string, Record<string, unknown>, Record<string, unknown>, RegExp | null]>([
    ['a valid assertion', {}, {}, null],
    ['aud the bare issuer string', { aud: ISSUER }, {}, null],
    ['aud the token endpoint URL', { aud: [`${ISSUER}/token`] }, {}, /aud/],
    ['aud with a second value', { aud: [ISSUER, 'reports'] }, {}, /aud/],
    ['aud missing', { aud: undefined }, {}, /aud/],
    ['exp missing', { exp: undefined }, {}, /exp is required/],
    ['jti missing', { jti: undefined }, {}, /jti/],
    ['jti empty', { jti: '' }, {}, /jti/],
    ['iat beyond the skew', { iat: NOW + 60 }, {}, /iat/],
    ['nbf beyond the skew', { nbf: NOW + 60 }, {}, /nbf/],
    ['typ at+jwt', {}, { typ: 'at+jwt' }, /typ/],
    ['typ dpop+jwt', {}, { typ: 'dpop+jwt' }, /typ/],
    ['typ JOSE (JWT-SVID §2.3)', {}, { typ: 'JOSE' }, null],
    ['no typ', {}, { typ: undefined }, null],
    ['alg none', {}, { alg: 'none' }, /alg/],
    ['alg HS256', {}, { alg: 'HS256' }, /alg/],
    ['alg EdDSA (not in JWT-SVID §2.1)', {}, { alg: 'EdDSA' }, /alg/],
    ['alg RS256', {}, { alg: 'RS256' }, null],
  ])('%s', (_name, claimChange, headerChange, expected) => {
    for (const [kind, base] of [
      ['spiffe', svid],
      ['kubernetes', saToken],
    ] as const) {
      const claims: Record<string, unknown> = { ...base, ...claimChange };
      const header: Record<string, unknown> = { ...HEADER, ...headerChange };
      for (const record of [claims, header]) {
        for (const [name, value] of Object.entries(record)) if (value === undefined) delete record[name];
      }
      const found = problem(kind, claims, header as typeof HEADER);
      if (expected === null) expect(found, `${kind}: ${String(found)}`).toBeNull();
      else expect(found, kind).toMatch(expected);
    }
  });
});

describe('checkWorkloadAssertion: lifetime bounds', () => {
  it.each<['spiffe' | 'kubernetes', number, boolean]>([
    ['spiffe', 300, true],
    ['spiffe', 315, true],
    ['spiffe', 316, false],
    ['spiffe', 3600, false],
    ['kubernetes', 600, true],
    ['kubernetes', 616, false],
    ['kubernetes', 3607, false],
    ['kubernetes', 365 * 86400, false],
  ])('%s token living %i s → accepted: %s', (kind, lifetime, accepted) => {
    const base = kind === 'spiffe' ? svid : saToken;
    expect(problem(kind, { ...base, exp: NOW + lifetime }) === null).toBe(accepted);
  });
});

describe('checkWorkloadAssertion: a JWT-SVID', () => {
  it('proves the SPIFFE ID in sub, and spends its jti in its trust domain', () => {
    expect(checkWorkloadAssertion('spiffe', svid, HEADER, context)).toEqual({
      ok: true,
      identity: { kind: 'spiffe', spiffeId: svid.sub },
      replayScope: 'spiffe://example.org',
      jti: 'j-1',
      exp: NOW + 300,
    });
  });

  it.each(['agent-a', 'spiffe://example.org', 'spiffe://example.org/a/../b', undefined])(
    'is refused with sub %s',
    (sub) => {
      expect(problem('spiffe', { ...svid, sub })).toMatch(/sub must be a SPIFFE ID/);
    },
  );
});

describe('checkWorkloadAssertion: a Kubernetes service-account token', () => {
  const bound = (change: Record<string, unknown>) => ({
    ...saToken,
    'kubernetes.io': { ...saToken['kubernetes.io'], ...change },
  });

  it('proves the service account of the registered cluster', () => {
    const result = checkWorkloadAssertion('kubernetes', saToken, HEADER, context);
    expect(result).toMatchObject({
      ok: true,
      identity: {
        kind: 'kubernetes',
        issuer: CLUSTER,
        serviceAccount: { namespace: 'agents', name: 'indexer' },
      },
      replayScope: CLUSTER,
    });
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['iss another cluster', { ...saToken, iss: 'https://other.example' }, /iss/],
    ['iss missing', { ...saToken, iss: undefined }, /iss/],
    ['sub a node', { ...saToken, sub: 'system:node:worker-1' }, /sub/],
    [
      'the kubernetes.io claim missing',
      { ...saToken, 'kubernetes.io': undefined },
      /kubernetes\.io claim is required/,
    ],
    ['another namespace in kubernetes.io', bound({ namespace: 'kube-system' }), /does not match/],
    [
      'another service account in kubernetes.io',
      bound({ serviceaccount: { name: 'x', uid: 'u' } }),
      /does not match/,
    ],
    ['no service account uid', bound({ serviceaccount: { name: 'indexer' } }), /does not match/],
    ['no pod binding', bound({ pod: undefined }), /bind the token to a pod/],
    ['a secret binding instead of a pod', bound({ pod: undefined, secret: { name: 's', uid: 'u' } }), /pod/],
  ])('is refused with %s', (_name, claims, expected) => {
    expect(problem('kubernetes', claims)).toMatch(expected);
  });
});
