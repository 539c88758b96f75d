import { describe, expect, it } from 'vitest';
import {
  parseServiceAccountSubject,
  parseSpiffeId,
  parseWorkloadKey,
  workloadKey,
  workloadKindOf,
} from '../../src/domain/workload-identity.js';

describe('parseSpiffeId (SPIFFE-ID §2)', () => {
  it.each<[string, string | null]>([
    ['spiffe://example.org/ns/prod/sa/planner', 'example.org'],
    ['spiffe://prod_1.example-2.org/a.b-c_d', 'prod_1.example-2.org'],
    ['spiffe://example.org', null],
    ['spiffe://example.org/', null],
    ['spiffe://example.org/a//b', null],
    ['spiffe://example.org/a/', null],
    ['spiffe://example.org/a/./b', null],
    ['spiffe://example.org/a/../b', null],
    ['spiffe://Example.org/a', null],
    ['SPIFFE://example.org/a', null],
    ['spiffe://example.org:8443/a', null],
    ['spiffe://user@example.org/a', null],
    ['spiffe://example.org/a?x=1', null],
    ['spiffe://example.org/a#f', null],
    ['spiffe://example.org/a%20b', null],
    ['https://example.org/a', null],
    ['spiffe:///a', null],
    [`spiffe://example.org/${'a'.repeat(2048)}`, null],
  ])('%s → trust domain %s', (value, trustDomain) => {
    expect(parseSpiffeId(value)?.trustDomain ?? null).toBe(trustDomain);
  });
});

describe('parseServiceAccountSubject (Kubernetes service-account token sub)', () => {
  it.each<[string, { namespace: string; name: string } | null]>([
    ['system:serviceaccount:agents:indexer', { namespace: 'agents', name: 'indexer' }],
    ['system:serviceaccount:kube-system:a.b-c', { namespace: 'kube-system', name: 'a.b-c' }],
    ['system:serviceaccount:agents', null],
    ['system:serviceaccount:agents:indexer:extra', null],
    ['system:serviceaccount::indexer', null],
    ['system:serviceaccount:Agents:indexer', null],
    ['system:serviceaccount:agents:-indexer', null],
    ['system:node:worker-1', null],
    ['indexer', null],
  ])('%s → %j', (sub, account) => {
    expect(parseServiceAccountSubject(sub)).toEqual(account);
  });
});

describe('workload identity keys', () => {
  it.each([
    { kind: 'spiffe' as const, spiffeId: 'spiffe://example.org/ns/a' },
    {
      kind: 'kubernetes' as const,
      issuer: 'https://oidc.example/id/1',
      serviceAccount: { namespace: 'agents', name: 'indexer' },
    },
  ])('round-trips %j', (identity) => {
    expect(parseWorkloadKey(workloadKey(identity))).toEqual(identity);
  });

  it('names the cluster in a service account key, so two clusters never share an agent', () => {
    const account = { namespace: 'agents', name: 'indexer' };
    expect(
      workloadKey({ kind: 'kubernetes', issuer: 'https://a.example', serviceAccount: account }),
    ).not.toBe(workloadKey({ kind: 'kubernetes', issuer: 'https://b.example', serviceAccount: account }));
  });

  it.each<[string, string | null]>([
    ['jwt_spiffe', 'spiffe'],
    ['kubernetes_service_account', 'kubernetes'],
    ['private_key_jwt', null],
    ['client_secret_basic', null],
  ])('method %s is workload kind %s', (method, kind) => {
    expect(workloadKindOf(method)).toBe(kind);
  });
});
