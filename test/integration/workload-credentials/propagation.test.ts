/**
 * ADR 0017 for workload trust (ADR 0023): a trust domain registered, re-keyed or deleted on one
 * instance, and an agent bound to a SPIFFE ID there, are honoured by another instance on the same
 * PostgreSQL within one second. Both run with a ten-minute registry cache, so only the change
 * feed's push explains it. Skipped on PGlite (one process owns its data directory).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerResource, uniqueSuffix } from '../../helpers/fixtures.js';
import { postToken } from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import {
  adminCall,
  adminCreate,
  JWT_SPIFFE_ASSERTION_TYPE,
  newKey,
  spiffeAuthority,
  type SigningKey,
  type SpiffeAuthority,
} from '../../helpers/workload.js';

const PROPAGATION_BOUND_MS = 1_000;
const OBSERVATION_MS = 3_000;
const SAFETY_NET_MS = String(10 * 60_000);

async function timeToAgree(agrees: () => Promise<boolean>): Promise<number | null> {
  const start = performance.now();
  for (;;) {
    if (await agrees()) return performance.now() - start;
    if (performance.now() - start > OBSERVATION_MS) return null;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function expectPropagated(agrees: () => Promise<boolean>): Promise<void> {
  const elapsed = await timeToAgree(agrees);
  expect(elapsed, 'the second instance never agreed').not.toBeNull();
  expect(elapsed).toBeLessThan(PROPAGATION_BOUND_MS);
}

describe.runIf(process.env.DATABASE_URL)('workload trust changed on one instance, seen on another', () => {
  const suffix = uniqueSuffix();
  const resource = `https://api-${suffix}.example`;
  let first: TestServer;
  let atSecond: TestServer;
  let second: TestServer;
  let authority: SpiffeAuthority;
  let domainId: string;

  /** The status of a client_credentials request at `server` with a fresh JWT-SVID. */
  const status = async (server: TestServer, key?: SigningKey) =>
    (
      await postToken(server, {
        grant_type: 'client_credentials',
        audience: resource,
        client_assertion_type: JWT_SPIFFE_ASSERTION_TYPE,
        client_assertion: await authority.svid('/agent', first.config.issuer, key ? { key } : {}),
      })
    ).status;

  beforeAll(async () => {
    const env = {
      REGISTRY_CACHE_TTL_MS: SAFETY_NET_MS,
      KEY_REFRESH_INTERVAL_MS: SAFETY_NET_MS,
      REDIS_KEY_PREFIX: `agent-sts-test:${randomBytes(6).toString('hex')}:`,
    };
    first = await startTestServer({ env });
    second = await startTestServer({
      keepData: true,
      env: { ...env, ISSUER: first.config.issuer, ADMIN_TOKEN: first.adminToken },
    });
    atSecond = { ...second, baseUrl: `http://127.0.0.1:${second.config.port}` };
    authority = await spiffeAuthority(`prop-${suffix}.example`);
    await registerResource(first, { id: resource, scopes: ['read'] });
    await adminCreate(first, '/admin/agents', {
      id: `prop-agent-${suffix}`,
      name: 'prop',
      tokenEndpointAuthMethod: 'jwt_spiffe',
      spiffeId: `spiffe://${authority.trustDomain}/agent`,
      allowedScopes: ['read'],
      allowedAudiences: [resource],
    });
  });

  afterAll(async () => {
    await second?.close();
    await first?.close();
  });

  it('a trust domain registered on one authenticates its workloads on the other', async () => {
    expect(await status(atSecond)).toBe(401);
    const domain = await adminCreate(first, '/admin/spiffe-trust-domains', {
      trustDomain: authority.trustDomain,
      bundle: authority.bundle(),
    });
    domainId = String(domain.id);
    await expectPropagated(async () => (await status(atSecond)) === 200);
  });

  it('a bundle re-keyed on one: the new key works and the old one stops on the other', async () => {
    const rotated = await newKey('ES256');
    const patched = await adminCall(first, 'PATCH', `/admin/spiffe-trust-domains/${domainId}`, {
      bundle: { keys: [{ ...rotated.publicJwk, use: 'jwt-svid' }] },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    await expectPropagated(
      async () => (await status(atSecond, rotated)) === 200 && (await status(atSecond)) === 401,
    );
  });

  it('a trust domain deleted on one authenticates nobody on the other', async () => {
    const rotated = await newKey('ES256');
    await adminCall(first, 'PATCH', `/admin/spiffe-trust-domains/${domainId}`, {
      bundle: { keys: [{ ...rotated.publicJwk, use: 'jwt-svid' }] },
    });
    await expectPropagated(async () => (await status(atSecond, rotated)) === 200);
    expect((await adminCall(first, 'DELETE', `/admin/spiffe-trust-domains/${domainId}`)).status).toBe(204);
    await expectPropagated(async () => (await status(atSecond, rotated)) === 401);
  });
});
