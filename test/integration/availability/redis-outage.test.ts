/**
 * AV-02: when the shared rate-limit store (Redis) is unreachable, the token endpoint fails closed
 * — 503 with Retry-After, no token, never 500 — while the admin API stays usable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../helpers/server.js';

describe('when Redis is unreachable', () => {
  let server: TestServer;

  beforeAll(async () => {
    // Port 1 on loopback: nothing listens there, so every Redis command fails at once.
    server = await startTestServer({ env: { REDIS_URL: 'redis://127.0.0.1:1', LOG_LEVEL: 'silent' } });
  });

  afterAll(async () => {
    await server.close();
  });

  it('answers the token endpoint with 503 temporarily_unavailable and issues nothing', async () => {
    const response = await fetch(`${server.baseUrl}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&client_id=anyone&client_secret=anything',
    });
    const body = (await response.json()) as Record<string, unknown>;
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(body).toEqual({
      error: 'temporarily_unavailable',
      error_description: 'the service is temporarily unavailable, retry later',
    });
    expect(await server.database.prisma.issuedToken.count()).toBe(0);
  });

  it('keeps the admin API available', async () => {
    const response = await fetch(`${server.baseUrl}/admin/agents`, {
      headers: { authorization: `Bearer ${server.adminToken}` },
    });
    expect(response.status).toBe(200);
  });
});
