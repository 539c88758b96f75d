/**
 * Two instances on one PostgreSQL database, as behind a load balancer: an admin change made on
 * one is honoured by the other within the registry cache's one second (ADR 0004, SECURITY-CASES
 * AD-10) — a disabled agent can no longer authenticate there, nor can a chain holding it be
 * exchanged there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disableAgent, registerAgent, registerResource, uniqueSuffix } from '../../helpers/fixtures.js';
import { agentToken, exchangeRequest, requestToken } from '../../helpers/oauth.js';
import { SHARED_POSTGRES, unmet } from '../../helpers/requirements.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

const FRESHNESS_BOUND_MS = 1_500; // the one-second cache TTL plus scheduling slack

async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + FRESHNESS_BOUND_MS;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.skipIf(unmet(SHARED_POSTGRES))('registry changes across instances', () => {
  let first: TestServer;
  let second: TestServer;
  const suffix = uniqueSuffix();
  const resource = `https://api-${suffix}.example`;

  beforeAll(async () => {
    first = await startTestServer();
    second = await startTestServer({
      keepData: true,
      env: { ISSUER: first.config.issuer, ADMIN_TOKEN: first.adminToken },
    });
    await registerResource(first, { id: resource, scopes: ['read'] });
  });

  afterAll(async () => {
    await second?.close();
    await first?.close();
  });

  it('refuses a disabled agent on the other instance within a second', async () => {
    const agent = await registerAgent(first, {
      id: `mi-a-${suffix}`,
      allowedScopes: ['read'],
      allowedAudiences: [resource],
    });
    const atSecond = { ...second, baseUrl: `http://127.0.0.1:${second.config.port}` };
    expect(
      (await requestToken(atSecond, agent, { grant_type: 'client_credentials', audience: resource })).status,
    ).toBe(200);

    await disableAgent(first, agent.id);
    const refused = await eventually(
      async () =>
        (await requestToken(atSecond, agent, { grant_type: 'client_credentials', audience: resource }))
          .status === 401,
    );
    expect(refused).toBe(true);
  });

  it('refuses, on the other instance, to exchange a chain whose first agent was disabled', async () => {
    const b = await registerAgent(first, {
      id: `mi-b-${suffix}`,
      allowedScopes: ['read'],
      allowedAudiences: [resource],
    });
    const a = await registerAgent(first, {
      id: `mi-c-${suffix}`,
      allowedScopes: ['read'],
      allowedAudiences: [b.id],
    });
    const { token } = await agentToken(first, a, { audience: b.id });
    const atSecond = { ...second, baseUrl: `http://127.0.0.1:${second.config.port}` };
    expect((await exchangeRequest(atSecond, b, { subject_token: token, resource })).status).toBe(200);

    await disableAgent(first, a.id);
    const refused = await eventually(async () => {
      const response = await exchangeRequest(atSecond, b, { subject_token: token, resource });
      return response.status === 400 && response.body.error === 'invalid_request';
    });
    expect(refused).toBe(true);
  });
});
