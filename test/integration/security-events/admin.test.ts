/**
 * /admin/set-receivers (ADR 0026): registration is validated like the rest of the admin API (RFC
 * 9457 problems, unknown fields refused, push endpoints held to the JWKS address policy of
 * SECURITY-CASES AD-06), secrets are shown once or never, and every change is an admin event.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminApi } from '../admin/admin-client.js';
import { registerResource, uniqueSuffix } from '../../helpers/fixtures.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

let server: TestServer;
// Module level: the it.each tables below are built before beforeAll runs.
const api = `https://api-${uniqueSuffix()}.example/v1`;

function adminRequest(method: string, path: string, body?: unknown, token = server.adminToken) {
  return adminApi(server, token).call(method, path, body);
}

beforeAll(async () => {
  server = await startTestServer(); // no loopback allowance: production address policy
  await registerResource(server, { id: api, scopes: ['read'] });
});

afterAll(async () => {
  await server?.close();
});

const push = (overrides: Record<string, unknown> = {}) => ({
  audience: api,
  delivery: 'push',
  endpointUrl: 'https://receiver.example/security-events',
  audiences: [api],
  ...overrides,
});

describe('registering SET receivers', () => {
  it('registers a push receiver; its authorization is never shown again', async () => {
    const created = await adminRequest(
      'POST',
      '/admin/set-receivers',
      push({ id: 'rx-push', authorization: 'Bearer s3cret' }),
    );
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id: 'rx-push',
      delivery: 'push',
      hasAuthorization: true,
      audiences: [api],
    });
    expect(created.text).not.toContain('s3cret');
    const read = await adminRequest('GET', '/admin/set-receivers/rx-push');
    expect(read.status).toBe(200);
    expect(read.text).not.toContain('s3cret');
    const list = await adminRequest('GET', '/admin/set-receivers');
    expect((list.body.items as { id: string }[]).map((item) => item.id)).toContain('rx-push');
    expect(list.text).not.toContain('s3cret');
    const row = await server.database.prisma.setReceiver.findUnique({ where: { id: 'rx-push' } });
    expect(row!.authorizationSealed).toMatch(/^v1\./);
    expect(row!.authorizationSealed).not.toContain('s3cret');
    const events = await server.database.prisma.adminEvent.findMany({ where: { targetId: 'rx-push' } });
    expect(events.map((event) => event.action)).toEqual(['set_receiver.created']);
    expect(JSON.stringify(events[0]!.changes)).not.toContain('s3cret');
  });

  it('registers a poll receiver: the secret once, a digest stored', async () => {
    const created = await adminRequest('POST', '/admin/set-receivers', {
      id: 'rx-poll',
      audience: api,
      delivery: 'poll',
      audiences: [api],
    });
    expect(created.status).toBe(201);
    const secret = created.body.pollSecret as string;
    expect(secret).toBeTypeOf('string');
    expect((await adminRequest('GET', '/admin/set-receivers/rx-poll')).text).not.toContain(secret);
    const row = await server.database.prisma.setReceiver.findUnique({ where: { id: 'rx-poll' } });
    expect(row!.pollSecretHash).toMatch(/^sha256:/);
    expect(row!.pollSecretHash).not.toContain(secret);
  });

  it.each([
    ['link-local metadata', 'http://169.254.169.254/latest'],
    ['loopback', 'https://127.0.0.1/events'],
    ['localhost', 'https://localhost/events'],
    ['plain http', 'http://receiver.example/events'],
    ['a file URL', 'file:///etc/passwd'],
    ['credentials in the URL', 'https://user:pass@receiver.example/events'],
    ['IPv4-mapped loopback', 'https://[::ffff:127.0.0.1]/events'],
  ])('refuses a push endpoint on %s: 400 invalid_url, nothing stored', async (_, endpointUrl) => {
    const before = await server.database.prisma.setReceiver.count();
    const refused = await adminRequest('POST', '/admin/set-receivers', push({ endpointUrl }));
    expect(refused.status).toBe(400);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(refused.body).toMatchObject({ code: 'invalid_url' });
    expect(await server.database.prisma.setReceiver.count()).toBe(before);
  });

  it.each([
    ['an unknown field', push({ isAdmin: true }), 'validation_failed'],
    ['a push receiver without endpointUrl', push({ endpointUrl: undefined }), 'invalid_value'],
    ['a poll receiver with an endpointUrl', push({ delivery: 'poll' }), 'invalid_value'],
    [
      'a poll receiver with an authorization',
      { audience: api, delivery: 'poll', audiences: [api], authorization: 'Bearer x' },
      'invalid_value',
    ],
    ['an unregistered audience', push({ audiences: ['https://nobody.example'] }), 'invalid_value'],
    ['a wildcard audience', push({ audiences: ['https://*.example'] }), 'wildcard_not_allowed'],
    ['no audiences', push({ audiences: [] }), 'validation_failed'],
    ['an unknown delivery', push({ delivery: 'email' }), 'validation_failed'],
    [
      'an authorization with a line break',
      push({ authorization: 'Bearer a\r\nX-Evil: 1' }),
      'validation_failed',
    ],
  ])('refuses %s with a 400 problem, nothing stored', async (_, body, code) => {
    const before = await server.database.prisma.setReceiver.count();
    const refused = await adminRequest('POST', '/admin/set-receivers', body);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ code });
    expect(await server.database.prisma.setReceiver.count()).toBe(before);
  });

  it('refuses a taken id with 409', async () => {
    await adminRequest('POST', '/admin/set-receivers', push({ id: 'rx-taken' }));
    const again = await adminRequest('POST', '/admin/set-receivers', push({ id: 'rx-taken' }));
    expect(again.status).toBe(409);
  });

  it('deletes a receiver (an admin event), then answers 404', async () => {
    await adminRequest('POST', '/admin/set-receivers', push({ id: 'rx-gone' }));
    expect((await adminRequest('DELETE', '/admin/set-receivers/rx-gone')).status).toBe(204);
    expect((await adminRequest('GET', '/admin/set-receivers/rx-gone')).status).toBe(404);
    expect((await adminRequest('DELETE', '/admin/set-receivers/rx-gone')).status).toBe(404);
    const actions = await server.database.prisma.adminEvent.findMany({
      where: { targetId: 'rx-gone' },
      orderBy: { id: 'asc' },
    });
    expect(actions.map((event) => event.action)).toEqual(['set_receiver.created', 'set_receiver.deleted']);
  });

  it('refuses a caller without the admin credential: 401, nothing stored', async () => {
    const before = await server.database.prisma.setReceiver.count();
    const refused = await adminRequest('POST', '/admin/set-receivers', push(), 'not-the-admin-token');
    expect(refused.status).toBe(401);
    expect(await server.database.prisma.setReceiver.count()).toBe(before);
  });

  it('is described in the OpenAPI document', async () => {
    const document = (await (await fetch(`${server.baseUrl}/docs/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([
        '/admin/set-receivers',
        '/admin/set-receivers/{id}',
        '/admin/set-receivers/{id}/events',
        '/security-events/poll',
      ]),
    );
  });
});
