/**
 * Agents without static secrets, Kubernetes (ADR 0023): an agent bound to a namespace and
 * service account authenticates with its projected service-account token (RFC 7523 jwt-bearer),
 * issued by a cluster an admin registered with its keys, addressed to this issuer alone and bound
 * to a pod. Refusals are the uniform invalid_client with the reason in the audit row.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerResource, uniqueSuffix } from '../../helpers/fixtures.js';
import { startJwksServer, type JwksServer } from '../../helpers/jwks-server.js';
import {
  auditSince,
  CLIENT_ASSERTION_TYPE,
  decodeJwt,
  expectRefusedResponse,
  postToken,
  snapshot,
  type TokenResponse,
} from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import {
  adminCreate,
  kubernetesCluster,
  newKey,
  type KubernetesCluster,
  type TokenOptions,
} from '../../helpers/workload.js';
import { postForm } from '../introspection-revocation/helpers.js';

const suffix = uniqueSuffix();
const RESOURCE = `https://api-${suffix}.example/`;
const SCOPE = 'data.read';
const AGENT = `indexer-${suffix}`;
const NAMESPACE = 'agents';
const SERVICE_ACCOUNT = 'indexer';

let server: TestServer;
let cluster: KubernetesCluster;
/** A second registered cluster, whose service accounts of the same name are someone else. */
let otherCluster: KubernetesCluster;
let jwksServer: JwksServer;

beforeAll(async () => {
  server = await startTestServer({ env: { ALLOW_LOOPBACK_HTTP_JWKS: 'true' } });
  cluster = await kubernetesCluster(`https://oidc.eks.example/id/${suffix}`);
  otherCluster = await kubernetesCluster(`https://container.googleapis.example/${suffix}/clusters/b`);
  jwksServer = await startJwksServer({ keys: [{ ...otherCluster.key.publicJwk, use: 'sig', alg: 'RS256' }] });
  await registerResource(server, { id: RESOURCE, scopes: [SCOPE] });
  await adminCreate(server, '/admin/kubernetes-clusters', {
    issuer: cluster.issuer,
    jwks: { keys: [{ ...cluster.key.publicJwk, use: 'sig', alg: 'RS256' }] },
  });
  await adminCreate(server, '/admin/kubernetes-clusters', {
    issuer: otherCluster.issuer,
    jwksUri: jwksServer.url,
  });
  const agent = await adminCreate(server, '/admin/agents', {
    id: AGENT,
    name: AGENT,
    tokenEndpointAuthMethod: 'kubernetes_service_account',
    kubernetesServiceAccount: { issuer: cluster.issuer, namespace: NAMESPACE, name: SERVICE_ACCOUNT },
    allowedScopes: [SCOPE],
    allowedAudiences: [RESOURCE],
  });
  expect(agent).not.toHaveProperty('clientSecret');
  expect(agent.kubernetesServiceAccount).toEqual({
    issuer: cluster.issuer,
    namespace: NAMESPACE,
    name: SERVICE_ACCOUNT,
  });
});

afterAll(async () => {
  await server?.close();
  await jwksServer?.close();
});

const saToken = (options: TokenOptions = {}, account = SERVICE_ACCOUNT, from = cluster) =>
  from.token(NAMESPACE, account, server.baseUrl, options);

async function tokenRequest(assertion: string, extra: Record<string, string> = {}): Promise<TokenResponse> {
  return postToken(server, {
    grant_type: 'client_credentials',
    audience: RESOURCE,
    client_assertion_type: CLIENT_ASSERTION_TYPE,
    client_assertion: assertion,
    ...extra,
  });
}

async function expectRefused(send: () => Promise<TokenResponse>, reason: string): Promise<void> {
  const before = await snapshot(server);
  const response = await send();
  await expectRefusedResponse(server, before, response, {
    status: 401,
    error: 'invalid_client',
    rule: 'client_authentication_failed',
  });
  expect(response.body.error_description).toBe('client authentication failed');
  const [row] = await auditSince(server, before);
  expect(row?.description ?? '').toMatch(new RegExp(`^${reason}: `));
  const control = await tokenRequest(await saToken());
  expect(control.status, `control request: ${control.text}`).toBe(200);
}

describe('an agent bound to a Kubernetes service account', () => {
  it('gets a token with its projected service-account token as the client assertion', async () => {
    const response = await tokenRequest(await saToken());
    expect(response.status, response.text).toBe(200);
    expect(decodeJwt(String(response.body.access_token))).toMatchObject({
      sub: AGENT,
      client_id: AGENT,
      aud: RESOURCE,
    });
  });

  it('introspects with its service-account token', async () => {
    const issued = await tokenRequest(await saToken());
    const response = await postForm(server, '/token/introspection', {
      token: String(issued.body.access_token),
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: await saToken(),
    });
    expect(response.status, response.text).toBe(200);
    expect(response.body).toMatchObject({ active: true, client_id: AGENT });
  });
});

describe('a service-account token that breaks a rule', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const bound = (change: Record<string, unknown>) => ({
    'kubernetes.io': {
      namespace: NAMESPACE,
      serviceaccount: { name: SERVICE_ACCOUNT, uid: 'c0ffee' },
      pod: { name: 'indexer-0', uid: 'beef' },
      ...change,
    },
  });
  const cases: readonly (readonly [string, () => Promise<string>, string])[] = [
    [
      'aud is the API server default audience',
      () => saToken({ claims: { aud: ['https://kubernetes.default.svc'] } }),
      'client_assertion_audience',
    ],
    [
      'aud holds this issuer and the API server',
      () => saToken({ claims: { aud: [server.baseUrl, 'https://kubernetes.default.svc'] } }),
      'client_assertion_audience',
    ],
    [
      'it lives a year (an extended legacy token)',
      () => saToken({ claims: { exp: now() + 365 * 86400 } }),
      'client_assertion_lifetime',
    ],
    [
      'it has expired',
      () => saToken({ claims: { iat: now() - 1200, nbf: now() - 1200, exp: now() - 600 } }),
      'client_assertion_expired',
    ],
    ['jti is missing', () => saToken({ claims: { jti: undefined } }), 'client_assertion_jti'],
    [
      'the kubernetes.io namespace differs from the sub',
      () => saToken({ claims: bound({ namespace: 'kube-system' }) }),
      'workload_binding_mismatch',
    ],
    [
      'it is not bound to a pod',
      () => saToken({ claims: bound({ pod: undefined }) }),
      'workload_binding_mismatch',
    ],
    [
      'the kubernetes.io claim is missing',
      () => saToken({ claims: { 'kubernetes.io': undefined } }),
      'workload_binding_mismatch',
    ],
    [
      'it names a service account no agent is bound to',
      () => saToken({}, 'crawler'),
      'workload_identity_unbound',
    ],
    [
      'another registered cluster issued it for the same namespace and name',
      () => saToken({}, SERVICE_ACCOUNT, otherCluster),
      'workload_identity_unbound',
    ],
    [
      'it is signed by a key the cluster does not publish',
      async () => saToken({ key: { ...(await newKey('RS256')), kid: cluster.key.kid } }),
      'client_assertion_signature',
    ],
  ];

  it.each(cases)('is refused when %s', async (_name, make, reason) => {
    await expectRefused(async () => tokenRequest(await make()), reason);
  });

  it('is spent on first use: the same token is refused the second time', async () => {
    const once = await saToken();
    expect((await tokenRequest(once)).status).toBe(200);
    await expectRefused(() => tokenRequest(once), 'client_assertion_replayed');
  });

  it('from an unregistered cluster, is no workload credential and authenticates nobody', async () => {
    const stranger = await kubernetesCluster(`https://stranger-${suffix}.example`);
    await expectRefused(
      async () => tokenRequest(await saToken({}, SERVICE_ACCOUNT, stranger)),
      'client_unknown',
    );
  });
});
