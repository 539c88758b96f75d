/**
 * AgentStsClient with a workload credential (ADR 0023): the agent holds no secret and no key; it
 * passes the file its platform keeps current (a JWT-SVID from spiffe-helper, a projected
 * service-account token) or a function that fetches one, and the client reads it afresh for
 * every request, so a rotated credential is used at once.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentStsClient, AgentStsClientError, OAuthError } from '../../../src/sdk/agent/index.js';
import { registerResource, uniqueSuffix } from '../../helpers/fixtures.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import {
  adminCreate,
  kubernetesCluster,
  spiffeAuthority,
  type KubernetesCluster,
  type SpiffeAuthority,
} from '../../helpers/workload.js';

const suffix = uniqueSuffix();
const RESOURCE = `https://api-${suffix}.example/`;
const SCOPE = 'data.read';
const SVID_AGENT = `svid-sdk-${suffix}`;
const K8S_AGENT = `k8s-sdk-${suffix}`;

let server: TestServer;
let authority: SpiffeAuthority;
let cluster: KubernetesCluster;
let directory: string;

beforeAll(async () => {
  server = await startTestServer();
  directory = mkdtempSync(path.join(tmpdir(), 'agent-sts-workload-'));
  authority = await spiffeAuthority(`sdk-${suffix}.example`);
  cluster = await kubernetesCluster(`https://oidc-sdk-${suffix}.example`);
  await registerResource(server, { id: RESOURCE, scopes: [SCOPE] });
  await adminCreate(server, '/admin/spiffe-trust-domains', {
    trustDomain: authority.trustDomain,
    bundle: authority.bundle(),
  });
  await adminCreate(server, '/admin/kubernetes-clusters', {
    issuer: cluster.issuer,
    jwks: { keys: [{ ...cluster.key.publicJwk, alg: 'RS256', use: 'sig' }] },
  });
  const common = { allowedScopes: [SCOPE], allowedAudiences: [RESOURCE] };
  await adminCreate(server, '/admin/agents', {
    id: SVID_AGENT,
    name: SVID_AGENT,
    tokenEndpointAuthMethod: 'jwt_spiffe',
    spiffeId: `spiffe://${authority.trustDomain}/sdk`,
    ...common,
  });
  await adminCreate(server, '/admin/agents', {
    id: K8S_AGENT,
    name: K8S_AGENT,
    tokenEndpointAuthMethod: 'kubernetes_service_account',
    kubernetesServiceAccount: { issuer: cluster.issuer, namespace: 'agents', name: 'sdk' },
    ...common,
  });
});

afterAll(async () => {
  await server?.close();
  if (directory) rmSync(directory, { recursive: true, force: true });
});

describe('AgentStsClient with a JWT-SVID file', () => {
  it('reads the file for every request, so each rotated JWT-SVID authenticates', async () => {
    const file = path.join(directory, 'jwt_svid.token');
    const client = new AgentStsClient({
      issuer: server.config.issuer,
      clientId: SVID_AGENT,
      authentication: { method: 'jwt_spiffe', credential: { file } },
    });
    for (const scope of [SCOPE, undefined]) {
      // spiffe-helper rewrites the file with a fresh JWT-SVID (and a trailing newline).
      writeFileSync(file, `${await authority.svid('/sdk', server.config.issuer)}\n`);
      const tokens = await client.clientCredentials({ audience: RESOURCE, ...(scope ? { scope } : {}) });
      expect(decodeJwt(tokens.accessToken)).toMatchObject({ sub: SVID_AGENT, aud: RESOURCE });
    }
  });

  it('surfaces a spent JWT-SVID as the server refusal, and a missing file as a typed error', async () => {
    const file = path.join(directory, 'spent.token');
    writeFileSync(file, await authority.svid('/sdk', server.config.issuer));
    const client = new AgentStsClient({
      issuer: server.config.issuer,
      clientId: SVID_AGENT,
      authentication: { method: 'jwt_spiffe', credential: { file } },
    });
    await client.clientCredentials({ audience: RESOURCE, scope: SCOPE });
    const refusal = await client.clientCredentials({ audience: RESOURCE }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(OAuthError);
    expect((refusal as OAuthError).error).toBe('invalid_client');

    const missing = new AgentStsClient({
      issuer: server.config.issuer,
      clientId: SVID_AGENT,
      authentication: { method: 'jwt_spiffe', credential: { file: path.join(directory, 'absent') } },
    });
    const error = await missing.clientCredentials({ audience: RESOURCE }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AgentStsClientError);
    expect((error as AgentStsClientError).code).toBe('workload_credential_unavailable');
  });
});

describe('AgentStsClient with a Kubernetes service-account token source', () => {
  it('asks the function for a fresh token for every request', async () => {
    let calls = 0;
    const client = new AgentStsClient({
      issuer: server.config.issuer,
      clientId: K8S_AGENT,
      authentication: {
        method: 'kubernetes_service_account',
        credential: async () => {
          calls += 1;
          return cluster.token('agents', 'sdk', server.config.issuer);
        },
      },
    });
    await client.clientCredentials({ audience: RESOURCE, scope: SCOPE });
    const tokens = await client.clientCredentials({ audience: RESOURCE });
    expect(calls).toBe(2);
    expect(decodeJwt(tokens.accessToken)).toMatchObject({ sub: K8S_AGENT, client_id: K8S_AGENT });
  });
});
