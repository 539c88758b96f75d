/**
 * The per-address limit on the token endpoint (@fastify/rate-limit in an onRequest hook before
 * the middie mount, DESIGN.md): over the limit, 429 with Retry-After and an OAuth-style body,
 * nothing issued and nothing audited as granted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../helpers/server.js';

describe('token endpoint limit per remote address', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ env: { TOKEN_RATE_LIMIT_PER_ADDRESS: '2' } });
  });

  afterAll(async () => {
    await server.close();
  });

  const anonymousTokenRequest = () =>
    fetch(`${server.baseUrl}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&client_id=nobody&client_secret=nothing',
    });

  it('answers 429 with Retry-After and an OAuth error body past the limit, before any client lookup', async () => {
    expect((await anonymousTokenRequest()).status).toBe(401);
    expect((await anonymousTokenRequest()).status).toBe(401);
    const auditRowsBefore = await server.database.prisma.auditEvent.count();

    const limited = await anonymousTokenRequest();
    const body = (await limited.json()) as Record<string, unknown>;
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.headers.get('cache-control')).toBe('no-store');
    expect(limited.headers.get('content-type')).toMatch(/^application\/json/);
    expect(body.error).toBe('rate_limit_exceeded');
    expect(typeof body.error_description).toBe('string');
    expect(body).not.toHaveProperty('access_token');
    // Refused before the provider: no client was authenticated, so nothing reached the audit log.
    expect(await server.database.prisma.auditEvent.count()).toBe(auditRowsBefore);
    expect(await server.database.prisma.issuedToken.count()).toBe(0);
  });

  it('does not limit other routes', async () => {
    expect((await fetch(`${server.baseUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.baseUrl}/jwks`)).status).toBe(200);
  });
});

describe('admin API limit per remote address', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ env: { ADMIN_RATE_LIMIT: '2' } });
  });

  afterAll(async () => {
    await server.close();
  });

  it('answers 429 as a problem document past the limit', async () => {
    const list = () =>
      fetch(`${server.baseUrl}/admin/agents`, { headers: { authorization: `Bearer ${server.adminToken}` } });
    expect((await list()).status).toBe(200);
    expect((await list()).status).toBe(200);
    const limited = await list();
    expect(limited.status).toBe(429);
    expect(limited.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await limited.json()) as { code: string }).code).toBe('rate_limited');
  });
});
