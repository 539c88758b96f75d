/**
 * The admin side of agents without static secrets (ADR 0023): registering SPIFFE trust domains and
 * Kubernetes clusters (RFC 9457 problems on bad input, admin events for every change), binding an
 * agent to a workload identity with no secret stored, and what discovery and the OpenAPI document
 * say about it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueSuffix } from '../../helpers/fixtures.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { adminCall, adminCreate, kubernetesCluster, spiffeAuthority } from '../../helpers/workload.js';

const suffix = uniqueSuffix();
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server?.close();
});

async function expectProblem(method: string, path: string, body: unknown, status: number): Promise<void> {
  const answer = await adminCall(server, method, path, body);
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  expect(answer.contentType).toMatch(/^application\/problem\+json/);
}

async function eventsFor(targetId: string) {
  return server.database.prisma.adminEvent.findMany({ where: { targetId }, orderBy: { id: 'asc' } });
}

describe('SPIFFE trust domains', () => {
  it('registers one with an inline bundle, keeping only its JWT-SVID keys, and records the change', async () => {
    const authority = await spiffeAuthority(`td-${suffix}.example`);
    const created = await adminCreate(server, '/admin/spiffe-trust-domains', {
      trustDomain: authority.trustDomain,
      bundle: authority.bundle(),
    });
    expect(created).toMatchObject({ trustDomain: authority.trustDomain, bundleEndpointUrl: null });
    const keys = (created.bundle as { keys: Record<string, unknown>[] }).keys;
    expect(keys.map((key) => key.kid)).toEqual([authority.jwtKey.kid]);
    const id = String(created.id);
    expect((await adminCall(server, 'GET', `/admin/spiffe-trust-domains/${id}`)).body).toEqual(created);
    const list = await adminCall(server, 'GET', '/admin/spiffe-trust-domains');
    expect((list.body.items as { id: string }[]).map((item) => item.id)).toContain(id);
    // The same trust domain twice is a conflict.
    await expectProblem(
      'POST',
      '/admin/spiffe-trust-domains',
      { trustDomain: authority.trustDomain, bundle: authority.bundle() },
      409,
    );
    expect((await adminCall(server, 'DELETE', `/admin/spiffe-trust-domains/${id}`)).status).toBe(204);
    expect((await adminCall(server, 'GET', `/admin/spiffe-trust-domains/${id}`)).status).toBe(404);
    expect((await eventsFor(id)).map((event) => event.action)).toEqual([
      'workload_issuer.created',
      'workload_issuer.deleted',
    ]);
  });

  it.each<[string, (bundle: Record<string, unknown>) => unknown]>([
    ['an upper-case trust domain name', (bundle) => ({ trustDomain: `TD-${suffix}.example`, bundle })],
    ['a trust domain name with a path', (bundle) => ({ trustDomain: `td-${suffix}.example/x`, bundle })],
    ['no key source', () => ({ trustDomain: `a-${suffix}.example` })],
    [
      'both a bundle and an endpoint',
      (bundle) => ({
        trustDomain: `b-${suffix}.example`,
        bundle,
        bundleEndpointUrl: 'https://spire.example/bundle',
      }),
    ],
    [
      'a plain http endpoint',
      () => ({ trustDomain: `c-${suffix}.example`, bundleEndpointUrl: 'http://spire.example/b' }),
    ],
    [
      'the metadata service as endpoint',
      () => ({ trustDomain: `d-${suffix}.example`, bundleEndpointUrl: 'https://169.254.169.254/bundle' }),
    ],
    [
      'a bundle with no JWT-SVID key',
      (bundle) => ({
        trustDomain: `e-${suffix}.example`,
        bundle: { keys: (bundle.keys as { use: string }[]).filter((key) => key.use !== 'jwt-svid') },
      }),
    ],
    [
      'a bundle holding a private key',
      (bundle) => ({
        trustDomain: `f-${suffix}.example`,
        bundle: { keys: [{ ...(bundle.keys as object[])[1], d: 'AAAA' }] },
      }),
    ],
    ['an unknown field', (bundle) => ({ trustDomain: `g-${suffix}.example`, bundle, trusted: true })],
  ])('refuses %s with a 400 problem and stores nothing', async (_name, body) => {
    const authority = await spiffeAuthority('x.example');
    const before = await server.database.prisma.workloadIssuer.count();
    await expectProblem('POST', '/admin/spiffe-trust-domains', body(authority.bundle()), 400);
    expect(await server.database.prisma.workloadIssuer.count()).toBe(before);
  });
});

describe('Kubernetes clusters', () => {
  it('registers one with its keys, replaces them, and refuses a second registration of the issuer', async () => {
    const cluster = await kubernetesCluster(`https://oidc-${suffix}.example/id/1`);
    const jwks = { keys: [{ ...cluster.key.publicJwk, alg: 'RS256', use: 'sig' }] };
    const created = await adminCreate(server, '/admin/kubernetes-clusters', { issuer: cluster.issuer, jwks });
    expect(created).toMatchObject({ issuer: cluster.issuer, jwksUri: null });
    const id = String(created.id);
    const patched = await adminCall(server, 'PATCH', `/admin/kubernetes-clusters/${id}`, {
      jwksUri: `https://oidc-${suffix}.example/id/1/keys`,
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ jwks: null, jwksUri: `https://oidc-${suffix}.example/id/1/keys` });
    await expectProblem('POST', '/admin/kubernetes-clusters', { issuer: cluster.issuer, jwks }, 409);
    // A trust domain's id is not a cluster's.
    expect((await adminCall(server, 'GET', `/admin/spiffe-trust-domains/${id}`)).status).toBe(404);
    expect((await eventsFor(id)).map((event) => event.action)).toEqual([
      'workload_issuer.created',
      'workload_issuer.updated',
    ]);
  });

  it.each<[string, unknown]>([
    ['an http issuer', { issuer: 'http://oidc.example', jwksUri: 'https://oidc.example/keys' }],
    ['this service as issuer', 'SELF'],
    ['an issuer with a query', { issuer: 'https://oidc.example/?a=1', jwksUri: 'https://oidc.example/keys' }],
    ['a symmetric key', { issuer: 'https://oidc-k.example', jwks: { keys: [{ kty: 'oct', k: 'AAAA' }] } }],
  ])('refuses %s', async (_name, body) => {
    const payload = body === 'SELF' ? { issuer: server.baseUrl, jwksUri: 'https://oidc.example/keys' } : body;
    await expectProblem('POST', '/admin/kubernetes-clusters', payload, 400);
  });
});

describe('agents bound to a workload identity', () => {
  const spiffeId = `spiffe://agents-${suffix}.example/ns/a/sa/b`;

  it('registers a jwt_spiffe agent with no secret and no keys, shown with its SPIFFE ID', async () => {
    const agent = await adminCreate(server, '/admin/agents', {
      id: `svid-agent-${suffix}`,
      name: 'svid agent',
      tokenEndpointAuthMethod: 'jwt_spiffe',
      spiffeId,
    });
    expect(agent).not.toHaveProperty('clientSecret');
    expect(agent).toMatchObject({ spiffeId, kubernetesServiceAccount: null, jwks: null, jwksUri: null });
    const row = await server.database.prisma.agent.findUnique({ where: { id: `svid-agent-${suffix}` } });
    expect(row?.secretHash).toBeNull();
    // The secret of a workload agent cannot be rotated: it has none.
    const rotate = await adminCall(server, 'POST', `/admin/agents/svid-agent-${suffix}/secret`);
    expect(rotate.status).toBe(400);
    // One workload identity authenticates one agent.
    await expectProblem(
      'POST',
      '/admin/agents',
      { id: `svid-twin-${suffix}`, name: 'twin', tokenEndpointAuthMethod: 'jwt_spiffe', spiffeId },
      409,
    );
  });

  it('frees the workload identity of a deleted agent for a new one, keeping the id reserved', async () => {
    const id = `svid-deleted-${suffix}`;
    const identity = `spiffe://agents-${suffix}.example/rebound`;
    const body = { name: id, tokenEndpointAuthMethod: 'jwt_spiffe', spiffeId: identity };
    await adminCreate(server, '/admin/agents', { id, ...body });
    expect((await adminCall(server, 'DELETE', `/admin/agents/${id}`)).status).toBe(204);
    await expectProblem('POST', '/admin/agents', { id, ...body }, 409);
    const successor = await adminCreate(server, '/admin/agents', { id: `${id}-2`, ...body });
    expect(successor.spiffeId).toBe(identity);
  });

  it('moves an agent from jwt_spiffe to a secret, dropping the identity and issuing a secret once', async () => {
    const id = `svid-mover-${suffix}`;
    await adminCreate(server, '/admin/agents', {
      id,
      name: id,
      tokenEndpointAuthMethod: 'jwt_spiffe',
      spiffeId: `spiffe://agents-${suffix}.example/mover`,
    });
    const moved = await adminCall(server, 'PATCH', `/admin/agents/${id}`, {
      tokenEndpointAuthMethod: 'client_secret_basic',
    });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ spiffeId: null, tokenEndpointAuthMethod: 'client_secret_basic' });
    expect(typeof moved.body.clientSecret).toBe('string');
  });

  it('registers a kubernetes_service_account agent', async () => {
    const account = { issuer: `https://oidc-${suffix}.example/id/2`, namespace: 'agents', name: 'indexer' };
    const agent = await adminCreate(server, '/admin/agents', {
      id: `k8s-agent-${suffix}`,
      name: 'k8s agent',
      tokenEndpointAuthMethod: 'kubernetes_service_account',
      kubernetesServiceAccount: account,
    });
    expect(agent).not.toHaveProperty('clientSecret');
    expect(agent).toMatchObject({ spiffeId: null, kubernetesServiceAccount: account });
  });

  it.each<[string, Record<string, unknown>]>([
    ['jwt_spiffe without a SPIFFE ID', { tokenEndpointAuthMethod: 'jwt_spiffe' }],
    ['a SPIFFE ID that is none', { tokenEndpointAuthMethod: 'jwt_spiffe', spiffeId: 'spiffe://Bad/x' }],
    [
      'a bare trust domain as SPIFFE ID',
      { tokenEndpointAuthMethod: 'jwt_spiffe', spiffeId: 'spiffe://td.example' },
    ],
    [
      'jwt_spiffe with registered keys',
      {
        tokenEndpointAuthMethod: 'jwt_spiffe',
        spiffeId: 'spiffe://td.example/k',
        jwksUri: 'https://keys.example/jwks',
      },
    ],
    [
      'a SPIFFE ID on a secret agent',
      { tokenEndpointAuthMethod: 'client_secret_basic', spiffeId: 'spiffe://td.example/s' },
    ],
    [
      'a service account on a jwt_spiffe agent',
      {
        tokenEndpointAuthMethod: 'jwt_spiffe',
        spiffeId: 'spiffe://td.example/t',
        kubernetesServiceAccount: { issuer: 'https://oidc.example', namespace: 'a', name: 'b' },
      },
    ],
    [
      'kubernetes_service_account without an account',
      { tokenEndpointAuthMethod: 'kubernetes_service_account' },
    ],
    [
      'a service account with a bad namespace',
      {
        tokenEndpointAuthMethod: 'kubernetes_service_account',
        kubernetesServiceAccount: { issuer: 'https://oidc.example', namespace: 'Agents', name: 'b' },
      },
    ],
    [
      'a service account of an http issuer',
      {
        tokenEndpointAuthMethod: 'kubernetes_service_account',
        kubernetesServiceAccount: { issuer: 'http://oidc.example', namespace: 'a', name: 'b' },
      },
    ],
  ])('refuses %s with a 400 problem and stores nothing', async (name, fields) => {
    const id = `bad-${name.replace(/[^a-z]/gi, '-').slice(0, 40)}-${suffix}`;
    await expectProblem('POST', '/admin/agents', { id, name: id, ...fields }, 400);
    expect(await server.database.prisma.agent.findUnique({ where: { id } })).toBeNull();
  });
});

describe('discovery and the OpenAPI document', () => {
  it('lists the workload methods among the token endpoint auth methods, and no tls_client_auth', async () => {
    const metadata = (await (
      await fetch(`${server.baseUrl}/.well-known/oauth-authorization-server`)
    ).json()) as {
      token_endpoint_auth_methods_supported: string[];
    };
    expect(metadata.token_endpoint_auth_methods_supported).toEqual([
      'client_secret_basic',
      'client_secret_post',
      'private_key_jwt',
      'jwt_spiffe',
      'kubernetes_service_account',
    ]);
    expect(metadata).not.toHaveProperty('tls_client_certificate_bound_access_tokens');
    expect(metadata).not.toHaveProperty('mtls_endpoint_aliases');
  });

  it('describes the trust domain and cluster routes and the workload fields of agents', async () => {
    const document = (await (await fetch(`${server.baseUrl}/docs/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
    };
    for (const path of [
      '/admin/spiffe-trust-domains',
      '/admin/spiffe-trust-domains/{id}',
      '/admin/kubernetes-clusters',
      '/admin/kubernetes-clusters/{id}',
    ]) {
      expect(document.paths, path).toHaveProperty([path]);
    }
    const text = JSON.stringify(document);
    expect(text).toContain('jwt_spiffe');
    expect(text).toContain('kubernetesServiceAccount');
  });
});
