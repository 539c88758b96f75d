/**
 * Every admin route, as the OpenAPI document lists it, refuses a request without credentials
 * (401) and one with a valid token of this service that lacks `sts:admin` (403), and changes
 * nothing either way (CONTRACT §4, SECURITY-CASES AD-01). A route added later is covered by
 * being documented.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { adminApi, expectProblem, mintServiceToken, uniqueId } from './admin-client.js';

let server: TestServer;
let withoutAdminScope: string;
const operations: { method: string; path: string }[] = [];

async function stateCounts(): Promise<number[]> {
  const prisma = server.database.prisma;
  return Promise.all([
    prisma.agent.count(),
    prisma.resource.count(),
    prisma.trustedIssuer.count(),
    prisma.signingKey.count(),
    prisma.issuedToken.count({ where: { revokedAt: { not: null } } }),
  ]);
}

beforeAll(async () => {
  server = await startTestServer();
  const operator = uniqueId('operator');
  const created = await adminApi(server).post('/admin/agents', {
    id: operator,
    name: 'operator',
    allowedScopes: ['read'],
    allowedAudiences: [server.config.issuer],
  });
  expect(created.status).toBe(201);
  withoutAdminScope = (
    await mintServiceToken(server, { clientId: operator, aud: server.config.issuer, scope: 'read' })
  ).token;
  const document = (await (await fetch(`${server.baseUrl}/docs/openapi.json`)).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  for (const [path, methods] of Object.entries(document.paths)) {
    if (!path.startsWith('/admin')) continue;
    for (const method of Object.keys(methods)) {
      if (['get', 'post', 'patch', 'put', 'delete'].includes(method)) {
        operations.push({ method: method.toUpperCase(), path: path.replace(/\{[^}]+\}/g, 'some-id') });
      }
    }
  }
});

afterAll(async () => {
  await server?.close();
});

describe('authorization of every admin route', () => {
  it('finds the documented admin routes', () => {
    expect(operations.length).toBeGreaterThanOrEqual(20);
    expect(operations).toContainEqual({ method: 'DELETE', path: '/admin/agents/some-id' });
    expect(operations).toContainEqual({ method: 'POST', path: '/admin/keys/rotate' });
  });

  it('answers 401 without credentials and 403 without sts:admin, changing nothing', async () => {
    const before = await stateCounts();
    for (const { method, path } of operations) {
      const body = ['POST', 'PATCH', 'PUT'].includes(method) ? {} : undefined;
      const anonymous = await adminApi(server, null).call(method, path, body);
      expectProblem(anonymous, 401, 'unauthorized');
      const forbidden = await adminApi(server, withoutAdminScope).call(method, path, body);
      expect(forbidden.status, `${method} ${path}`).toBe(403);
      expectProblem(forbidden, 403, 'forbidden');
    }
    expect(await stateCounts()).toEqual(before);
  });
});
