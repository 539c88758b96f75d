/**
 * /admin/trusted-issuers (CONTRACT §4): external issuers whose tokens may be subject tokens. Their
 * `audiences` name this service, never an agent, since a token addressed to an agent belongs to
 * that agent alone; their URLs are never fetched from unsafe places (AD-06).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import {
  adminApi,
  expectProblem,
  path,
  privateJwk,
  publicJwk,
  uniqueId,
  type AdminApi,
} from './admin-client.js';

let server: TestServer;
let admin: AdminApi;

beforeAll(async () => {
  server = await startTestServer();
  admin = adminApi(server);
});

afterAll(async () => {
  await server?.close();
});

function issuerUrl(): string {
  return `https://${uniqueId('idp')}.example`;
}

async function issuerCount(): Promise<number> {
  return server.database.prisma.trustedIssuer.count();
}

async function validBody(extra: Record<string, unknown> = {}) {
  return {
    issuer: issuerUrl(),
    jwks: { keys: [await publicJwk()] },
    audiences: ['https://sts.example'],
    ...extra,
  };
}

async function expectRefused(body: Record<string, unknown>, status: number, code: string) {
  const before = await issuerCount();
  expectProblem(await admin.post('/admin/trusted-issuers', body), status, code);
  expect(await issuerCount()).toBe(before);
}

describe('POST /admin/trusted-issuers', () => {
  it('registers an issuer with inline keys and a generated id', async () => {
    const body = await validBody();
    const response = await admin.post('/admin/trusted-issuers', body);
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({
      issuer: body.issuer,
      jwks: body.jwks,
      jwksUri: null,
      audiences: body.audiences,
      scopeClaim: 'scope',
      maxDelegationDepth: null,
    });
    expect(response.body.id).toMatch(/^ti-/);
    expect((await admin.get(path('trusted-issuers', response.body.id))).body).toEqual(response.body);
  });

  it('registers an issuer with a caller-given id, a jwksUri, scp and a depth limit', async () => {
    const id = uniqueId('corp-idp');
    const response = await admin.post('/admin/trusted-issuers', {
      id,
      issuer: issuerUrl(),
      jwksUri: 'https://login.example/keys',
      audiences: ['api://sts'],
      scopeClaim: 'scp',
      maxDelegationDepth: 2,
    });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({
      id,
      jwks: null,
      jwksUri: 'https://login.example/keys',
      scopeClaim: 'scp',
      maxDelegationDepth: 2,
    });
  });

  it('refuses an audience that is an agent id, live or deleted', async () => {
    const live = uniqueId('agent');
    const gone = uniqueId('agent');
    for (const id of [live, gone])
      expect((await admin.post('/admin/agents', { id, name: id })).status).toBe(201);
    expect((await admin.delete(path('agents', gone))).status).toBe(204);
    await expectRefused(
      await validBody({ audiences: ['https://sts.example', live] }),
      400,
      'audience_is_agent',
    );
    await expectRefused(await validBody({ audiences: [gone] }), 400, 'audience_is_agent');
  });

  it('keeps an audience of a trusted issuer from becoming an agent id', async () => {
    const audience = uniqueId('sts-audience');
    expect(
      (await admin.post('/admin/trusted-issuers', await validBody({ audiences: [audience] }))).status,
    ).toBe(201);
    expectProblem(await admin.post('/admin/agents', { id: audience, name: 'shadow' }), 409, 'conflict');
  });

  it('refuses an audience that is a resource id, and the converse', async () => {
    const api = `https://${uniqueId('api')}.example`;
    expect((await admin.post('/admin/resources', { id: api, scopes: ['read'] })).status).toBe(201);
    await expectRefused(
      await validBody({ audiences: ['https://sts.example', api] }),
      400,
      'audience_is_resource',
    );

    const audience = `https://${uniqueId('sts')}.example`;
    expect(
      (await admin.post('/admin/trusted-issuers', await validBody({ audiences: [audience] }))).status,
    ).toBe(201);
    const resourcesBefore = await server.database.prisma.resource.count();
    expectProblem(await admin.post('/admin/resources', { id: audience, scopes: ['read'] }), 409, 'conflict');
    expect(await server.database.prisma.resource.count()).toBe(resourcesBefore);
  });

  it('refuses a second registration of the same issuer', async () => {
    const issuer = issuerUrl();
    expect((await admin.post('/admin/trusted-issuers', await validBody({ issuer }))).status).toBe(201);
    await expectRefused(await validBody({ issuer }), 409, 'conflict');
  });

  it('refuses a caller-given id already in use', async () => {
    const id = uniqueId('ti');
    expect((await admin.post('/admin/trusted-issuers', await validBody({ id }))).status).toBe(201);
    await expectRefused(await validBody({ id }), 409, 'conflict');
  });

  it.each([
    ['plain http', 'http://idp.example'],
    ['localhost', 'https://localhost'],
    ['the metadata address', 'https://169.254.169.254'],
    ['a file URL', 'file:///etc/issuer'],
    ['a URL with a query', 'https://idp.example/?tenant=x'],
    ['a URL with a fragment', 'https://idp.example/#x'],
    ['not a URL', 'corporate idp'],
  ])('refuses an issuer on %s', async (_name, issuer) => {
    await expectRefused(await validBody({ issuer }), 400, 'invalid_url');
  });

  it.each([
    ['the metadata address', 'https://169.254.169.254/keys'],
    ['plain http', 'http://idp.example/keys'],
    ['a file URL', 'file:///etc/keys.json'],
  ])('refuses a jwksUri on %s', async (_name, jwksUri) => {
    await expectRefused(
      { issuer: issuerUrl(), jwksUri, audiences: ['https://sts.example'] },
      400,
      'invalid_url',
    );
  });

  it('requires exactly one of jwks and jwksUri', async () => {
    await expectRefused(
      { issuer: issuerUrl(), audiences: ['https://sts.example'] },
      400,
      'invalid_key_source',
    );
    await expectRefused(await validBody({ jwksUri: 'https://idp.example/keys' }), 400, 'invalid_key_source');
  });

  it('refuses private key material', async () => {
    await expectRefused(await validBody({ jwks: { keys: [await privateJwk()] } }), 400, 'invalid_jwks');
  });

  it.each([
    ['no audiences', { audiences: [] }, 'validation_failed'],
    ['a wildcard audience', { audiences: ['https://*.example'] }, 'wildcard_not_allowed'],
    ['an unknown scope claim', { scopeClaim: 'roles' }, 'validation_failed'],
    ['a depth above the service limit', { maxDelegationDepth: 99 }, 'invalid_value'],
    ['a depth of zero', { maxDelegationDepth: 0 }, 'validation_failed'],
    ['an unknown field', { trusted: true }, 'validation_failed'],
  ])('refuses %s', async (_name, extra, code) => {
    await expectRefused(await validBody(extra), 400, code);
  });
});

describe('GET, PATCH and DELETE /admin/trusted-issuers/{id}', () => {
  it('changes an issuer, re-validating the whole of it', async () => {
    const created = await admin.post('/admin/trusted-issuers', await validBody());
    expect(created.status).toBe(201);
    const id = created.body.id as string;

    const toUri = await admin.patch(path('trusted-issuers', id), { jwksUri: 'https://idp.example/keys' });
    expect(toUri.status).toBe(200);
    expect(toUri.body).toMatchObject({ jwks: null, jwksUri: 'https://idp.example/keys' });

    const agent = uniqueId('agent');
    expect((await admin.post('/admin/agents', { id: agent, name: agent })).status).toBe(201);
    expectProblem(
      await admin.patch(path('trusted-issuers', id), { audiences: [agent] }),
      400,
      'audience_is_agent',
    );
    expectProblem(
      await admin.patch(path('trusted-issuers', id), { jwksUri: 'https://169.254.169.254/' }),
      400,
      'invalid_url',
    );
    expectProblem(await admin.patch(path('trusted-issuers', id), { id: 'other' }), 400, 'validation_failed');

    const other = await admin.post('/admin/trusted-issuers', await validBody());
    expectProblem(
      await admin.patch(path('trusted-issuers', id), { issuer: other.body.issuer }),
      409,
      'conflict',
    );

    const unchanged = await admin.get(path('trusted-issuers', id));
    expect(unchanged.body).toMatchObject({
      issuer: created.body.issuer,
      jwksUri: 'https://idp.example/keys',
    });
    expect(unchanged.body.audiences).toEqual(created.body.audiences);

    const lifted = await admin.patch(path('trusted-issuers', id), {
      maxDelegationDepth: 3,
      scopeClaim: 'scp',
    });
    expect(lifted.body).toMatchObject({ maxDelegationDepth: 3, scopeClaim: 'scp' });
    expect(
      (await admin.patch(path('trusted-issuers', id), { maxDelegationDepth: null })).body.maxDelegationDepth,
    ).toBeNull();
  });

  it('lists and deletes issuers', async () => {
    const created = await admin.post('/admin/trusted-issuers', await validBody());
    const id = created.body.id as string;
    const listed = await admin.get('/admin/trusted-issuers?limit=200');
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((item: { id: string }) => item.id)).toContain(id);
    expect(listed.body.nextCursor).toBeNull();

    expect((await admin.delete(path('trusted-issuers', id))).status).toBe(204);
    expectProblem(await admin.get(path('trusted-issuers', id)), 404, 'not_found');
    expectProblem(await admin.delete(path('trusted-issuers', id)), 404, 'not_found');
    expectProblem(await admin.patch(path('trusted-issuers', id), { scopeClaim: 'scp' }), 404, 'not_found');
    // The issuer may be registered again once deleted.
    expect(
      (await admin.post('/admin/trusted-issuers', await validBody({ issuer: created.body.issuer }))).status,
    ).toBe(201);
  });
});
