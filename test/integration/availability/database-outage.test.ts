/**
 * AV-01 / AV-04: when PostgreSQL is unreachable the token endpoint fails closed — 503 with
 * Retry-After, no token, never 500 — readiness says so, and service resumes when it returns.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAgent, registerResource } from '../../helpers/fixtures.js';
import { POSTGRES_OVER_TCP, unmet } from '../../helpers/requirements.js';
import { startTestServerBehindDatabaseProxy, type TcpProxy } from '../../helpers/tcp-proxy.js';
import type { TestServer } from '../../helpers/server.js';

const databaseUrl = process.env.DATABASE_URL;

describe.skipIf(unmet(POSTGRES_OVER_TCP))('when the database goes away', () => {
  let proxy: TcpProxy;
  let server: TestServer;
  let secret: string;

  beforeAll(async () => {
    ({ server, proxy } = await startTestServerBehindDatabaseProxy(databaseUrl as string));
    await registerResource(server, { id: 'https://api.example/outage', scopes: ['read'] });
    const agent = await registerAgent(server, {
      id: 'outage-agent',
      allowedScopes: ['read'],
      allowedAudiences: ['https://api.example/outage'],
    });
    secret = agent.clientSecret as string;
  });

  afterAll(async () => {
    proxy.restore();
    await server.close();
    await proxy.close();
  });

  const requestToken = () =>
    fetch(`${server.baseUrl}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`outage-agent:${secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: 'https://api.example/outage' }),
    });

  it('answers 503 with Retry-After and issues nothing, then recovers', async () => {
    expect((await requestToken()).status).toBe(200);
    // Let the one-second registry cache lapse so the outage is met on the database, not the cache.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    proxy.cut();

    const refused = await requestToken();
    const body = (await refused.json()) as Record<string, unknown>;
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBeTruthy();
    expect(refused.headers.get('cache-control')).toBe('no-store');
    expect(body.error).toBe('temporarily_unavailable');
    expect(body).not.toHaveProperty('access_token');
    expect(JSON.stringify(body)).not.toMatch(/stack|SELECT|INSERT|prisma/i);

    const ready = await fetch(`${server.baseUrl}/readyz`);
    expect(ready.status).toBe(503);

    proxy.restore();
    let recovered = 0;
    for (let attempt = 0; attempt < 20 && recovered !== 200; attempt += 1) {
      recovered = (await requestToken()).status;
      if (recovered !== 200) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(recovered).toBe(200);
    expect((await fetch(`${server.baseUrl}/readyz`)).status).toBe(200);
  });
});
