/**
 * The admin CLI over the workload-trust API (ADR 0023): registering a SPIFFE trust domain from a
 * bundle file and a Kubernetes cluster, and agents bound to a SPIFFE ID or a service account,
 * which are shown without any secret.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueSuffix } from '../../helpers/fixtures.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { kubernetesCluster, spiffeAuthority } from '../../helpers/workload.js';
import { buildCli, runCli, type CliResult } from './cli-runner.js';

const suffix = uniqueSuffix();
let server: TestServer;
let env: Record<string, string>;
let scratch: string;

beforeAll(async () => {
  [server] = await Promise.all([startTestServer(), buildCli()]);
  env = { AGENT_STS_URL: server.baseUrl, AGENT_STS_ADMIN_TOKEN: server.adminToken };
  scratch = mkdtempSync(path.join(tmpdir(), 'agent-sts-cli-workload-'));
}, 120_000);

afterAll(async () => {
  await server?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const cli = (...args: string[]) => runCli(args, env);

function json(result: CliResult): Record<string, unknown> {
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

describe('workload trust', { timeout: 180_000 }, () => {
  it('registers a trust domain from a bundle file and a jwt_spiffe agent bound to a SPIFFE ID', async () => {
    const authority = await spiffeAuthority(`cli-${suffix}.example`);
    const bundleFile = path.join(scratch, 'bundle.json');
    writeFileSync(bundleFile, JSON.stringify(authority.bundle()));
    const domain = json(
      await cli(
        'spiffe-trust-domains',
        'create',
        '--trust-domain',
        authority.trustDomain,
        '--bundle-file',
        bundleFile,
        '--json',
      ),
    );
    expect(domain.trustDomain).toBe(authority.trustDomain);
    const listed = await cli('spiffe-trust-domains', 'list');
    expect(listed.stdout).toContain(authority.trustDomain);

    const spiffeId = `spiffe://${authority.trustDomain}/planner`;
    const created = await cli(
      'agents',
      'create',
      '--id',
      `cli-svid-${suffix}`,
      '--name',
      'planner',
      '--auth-method',
      'jwt_spiffe',
      '--spiffe-id',
      spiffeId,
    );
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain(`spiffe id`);
    expect(created.stdout).toContain(spiffeId);
    expect(created.stdout).not.toContain('client secret');
  });

  it('registers a cluster and a kubernetes_service_account agent', async () => {
    const cluster = await kubernetesCluster(`https://oidc-cli-${suffix}.example`);
    const jwksFile = path.join(scratch, 'cluster-jwks.json');
    writeFileSync(
      jwksFile,
      JSON.stringify({ keys: [{ ...cluster.key.publicJwk, alg: 'RS256', use: 'sig' }] }),
    );
    json(
      await cli(
        'kubernetes-clusters',
        'create',
        '--issuer',
        cluster.issuer,
        '--jwks-file',
        jwksFile,
        '--json',
      ),
    );
    const agent = json(
      await cli(
        'agents',
        'create',
        '--id',
        `cli-k8s-${suffix}`,
        '--name',
        'indexer',
        '--auth-method',
        'kubernetes_service_account',
        '--service-account',
        `agents/indexer@${cluster.issuer}`,
        '--json',
      ),
    );
    expect(agent.kubernetesServiceAccount).toEqual({
      issuer: cluster.issuer,
      namespace: 'agents',
      name: 'indexer',
    });
    expect(agent).not.toHaveProperty('clientSecret');
    const bad = await cli(
      'agents',
      'create',
      '--name',
      'x',
      '--auth-method',
      'kubernetes_service_account',
      '--service-account',
      'indexer',
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/namespace/);
  });
});
