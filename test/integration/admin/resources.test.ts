/**
 * /admin/resources (CONTRACT §4): audiences that are not agents. A resource id is never an agent's
 * id, live or deleted (AD-04); deleting a resource is a real delete.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { adminApi, clientCredentials, expectProblem, path, uniqueId, type AdminApi } from './admin-client.js';

let server: TestServer;
let admin: AdminApi;

beforeAll(async () => {
  server = await startTestServer();
  admin = adminApi(server);
});

afterAll(async () => {
  await server?.close();
});

function resourceId(): string {
  return `https://${uniqueId('api')}.example/v1`;
}

async function resourceCount(): Promise<number> {
  return server.database.prisma.resource.count();
}

describe('POST /admin/resources', () => {
  it('registers a resource that agents can then get tokens for', async () => {
    const id = resourceId();
    const response = await admin.post('/admin/resources', { id, name: 'Calendar API', scopes: ['cal.read'] });
    expect(response.status).toBe(201);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.body).toMatchObject({ id, name: 'Calendar API', scopes: ['cal.read'] });

    const agent = await admin.post('/admin/agents', {
      id: uniqueId('caller'),
      name: 'caller',
      tokenEndpointAuthMethod: 'client_secret_post',
      allowedScopes: ['cal.read'],
      allowedAudiences: [id],
    });
    expect(agent.status).toBe(201);
    const issued = await clientCredentials(
      server,
      agent.body.id,
      agent.body.clientSecret,
      id,
      'client_secret_post',
    );
    expect(issued.status, issued.text).toBe(200);
    expect(issued.body.scope).toBe('cal.read');
  });

  it('defaults to no name and no scopes', async () => {
    const id = resourceId();
    const response = await admin.post('/admin/resources', { id });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ id, name: '', scopes: [] });
  });

  it('refuses a second resource with the same id', async () => {
    const id = resourceId();
    expect((await admin.post('/admin/resources', { id })).status).toBe(201);
    expectProblem(await admin.post('/admin/resources', { id, name: 'again' }), 409, 'conflict');
    expect((await admin.get(path('resources', id))).body.name).toBe('');
  });

  it('refuses the id of an agent, live or deleted', async () => {
    const live = uniqueId('live-agent');
    const gone = uniqueId('gone-agent');
    for (const id of [live, gone])
      expect((await admin.post('/admin/agents', { id, name: id })).status).toBe(201);
    expect((await admin.delete(path('agents', gone))).status).toBe(204);
    const before = await resourceCount();
    expectProblem(await admin.post('/admin/resources', { id: live, scopes: ['read'] }), 409, 'conflict');
    expectProblem(await admin.post('/admin/resources', { id: gone, scopes: ['read'] }), 409, 'conflict');
    expect(await resourceCount()).toBe(before);
  });

  it.each([
    ['the issuer URL', () => ({ id: server.config.issuer })],
    ['an sts: id', () => ({ id: 'sts:admin-api' })],
  ])('refuses %s as a reserved id', async (_name, body) => {
    const before = await resourceCount();
    expectProblem(await admin.post('/admin/resources', body()), 400, 'reserved_identifier');
    expect(await resourceCount()).toBe(before);
  });

  it.each([
    ['a wildcard scope', { scopes: ['*'] }, 'wildcard_not_allowed'],
    ['a prefix wildcard scope', { scopes: ['files.*'] }, 'wildcard_not_allowed'],
    ['an id with a wildcard', { id: 'https://*.corp' }, 'validation_failed'],
    ['an id with a query', { id: 'https://api.example/?x=1' }, 'validation_failed'],
    ['an id over 500 characters', { id: `https://${'a'.repeat(500)}.example` }, 'validation_failed'],
    ['no id', { id: undefined }, 'validation_failed'],
    ['an unknown field', { owner: 'mallory' }, 'validation_failed'],
    ['duplicate scopes', { scopes: ['a', 'a'] }, 'validation_failed'],
  ])('refuses %s', async (_name, extra, code) => {
    const before = await resourceCount();
    expectProblem(await admin.post('/admin/resources', { id: resourceId(), ...extra }), 400, code);
    expect(await resourceCount()).toBe(before);
  });

  it('makes an agent with the id of a resource impossible', async () => {
    const id = resourceId();
    expect((await admin.post('/admin/resources', { id })).status).toBe(201);
    expectProblem(await admin.post('/admin/agents', { id, name: 'shadow' }), 409, 'conflict');
  });
});

describe('GET, PATCH and DELETE /admin/resources/{id}', () => {
  it('reads, lists, changes and deletes a resource', async () => {
    const id = resourceId();
    expect((await admin.post('/admin/resources', { id, name: 'v1', scopes: ['a'] })).status).toBe(201);

    const read = await admin.get(path('resources', id));
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ id, name: 'v1', scopes: ['a'] });

    const listed = await admin.get('/admin/resources?limit=200');
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((item: { id: string }) => item.id)).toContain(id);

    const patched = await admin.patch(path('resources', id), { scopes: ['a', 'b'] });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ id, name: 'v1', scopes: ['a', 'b'] });

    expectProblem(await admin.patch(path('resources', id), { scopes: ['*'] }), 400, 'wildcard_not_allowed');
    expectProblem(await admin.patch(path('resources', id), { id: resourceId() }), 400, 'validation_failed');
    expect((await admin.get(path('resources', id))).body.scopes).toEqual(['a', 'b']);

    expect((await admin.delete(path('resources', id))).status).toBe(204);
    expectProblem(await admin.get(path('resources', id)), 404, 'not_found');
    expectProblem(await admin.delete(path('resources', id)), 404, 'not_found');
    expectProblem(await admin.patch(path('resources', id), { name: 'x' }), 404, 'not_found');
    // A real delete: the id may be registered again.
    expect((await admin.post('/admin/resources', { id })).status).toBe(201);
  });

  it('keeps a deleted resource id from becoming an agent while tokens for it live', async () => {
    const id = `urn:${uniqueId('api')}`;
    expect((await admin.post('/admin/resources', { id, scopes: ['cal.read'] })).status).toBe(201);
    const caller = await admin.post('/admin/agents', {
      id: uniqueId('caller'),
      name: 'caller',
      allowedScopes: ['cal.read'],
      allowedAudiences: [id],
    });
    const issued = await clientCredentials(server, caller.body.id, caller.body.clientSecret, id);
    expect(issued.status, issued.text).toBe(200);
    expect((await admin.delete(path('resources', id))).status).toBe(204);

    const agentsBefore = await server.database.prisma.agent.count();
    const squatter = await admin.post('/admin/agents', { id, name: 'squatter' });
    expectProblem(squatter, 409, 'conflict');
    expect(await server.database.prisma.agent.count()).toBe(agentsBefore);
  });

  it('pages through resources with an opaque cursor', async () => {
    for (let index = 0; index < 3; index += 1) {
      expect((await admin.post('/admin/resources', { id: resourceId() })).status).toBe(201);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const response = await admin.get(`/admin/resources?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      expect(response.status).toBe(200);
      expect(response.body.items.length).toBeLessThanOrEqual(1);
      seen.push(...response.body.items.map((item: { id: string }) => item.id));
      cursor = response.body.nextCursor;
    } while (cursor !== null && seen.length < 1000);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBe(await resourceCount());
  });
});
