/**
 * /admin/peer-domains (ADR 0025): other authorization servers this service chains identities with.
 * Bad input is an RFC 9457 problem and stores nothing; every write records its admin event; the
 * issuer URL and JWKS URI are never unsafe places to fetch from (AD-06).
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

function peerUrl(): string {
  return `https://${uniqueId('as')}.example`;
}

async function peerCount(): Promise<number> {
  return server.database.prisma.peerDomain.count();
}

async function validBody(extra: Record<string, unknown> = {}) {
  return {
    issuer: peerUrl(),
    grantRequesters: ['agent-a'],
    grantScopes: ['ledger.read'],
    jwks: { keys: [await publicJwk()] },
    redeemingClients: ['agent-b'],
    acceptedScopes: ['ledger.read'],
    ...extra,
  };
}

async function expectRefused(body: Record<string, unknown>, status: number, code: string) {
  const before = await peerCount();
  const events = await server.database.prisma.adminEvent.count();
  expectProblem(await admin.post('/admin/peer-domains', body), status, code);
  expect(await peerCount()).toBe(before);
  expect(await server.database.prisma.adminEvent.count()).toBe(events);
}

describe('POST /admin/peer-domains', () => {
  it('registers a peer with defaults and records the admin event', async () => {
    const body = await validBody();
    const response = await admin.post('/admin/peer-domains', body);
    expect(response.status, response.text).toBe(201);
    expect(response.body).toMatchObject({
      issuer: body.issuer,
      grantRequesters: ['agent-a'],
      grantScopes: ['ledger.read'],
      grantTtlSeconds: 60,
      jwks: body.jwks,
      jwksUri: null,
      redeemingClients: ['agent-b'],
      acceptedScopes: ['ledger.read'],
      subjectMapping: 'preserve',
      maxDelegationDepth: null,
    });
    expect(response.body.id).toMatch(/^peer-/);
    expect((await admin.get(path('peer-domains', response.body.id))).body).toEqual(response.body);
    const event = await server.database.prisma.adminEvent.findFirst({
      where: { targetType: 'peer_domain', targetId: response.body.id },
    });
    expect(event).toMatchObject({ action: 'peer_domain.created', actorKind: 'admin_token' });
  });

  it('registers an outbound-only peer without keys', async () => {
    const response = await admin.post('/admin/peer-domains', {
      issuer: peerUrl(),
      grantRequesters: ['agent-a'],
      grantScopes: ['ledger.read'],
    });
    expect(response.status, response.text).toBe(201);
  });

  it.each([
    { name: 'an unknown field', extra: { isTrusted: true }, status: 400, code: 'validation_failed' },
    { name: 'an http issuer', extra: { issuer: 'http://as.example' }, status: 400, code: 'invalid_url' },
    {
      name: 'a metadata-service JWKS URI',
      extra: { jwks: undefined, jwksUri: 'https://169.254.169.254/keys' },
      status: 400,
      code: 'invalid_url',
    },
    {
      name: 'a grant lifetime over five minutes',
      extra: { grantTtlSeconds: 3600 },
      status: 400,
      code: 'validation_failed',
    },
    { name: 'a wildcard scope', extra: { acceptedScopes: ['*'] }, status: 400, code: 'wildcard_not_allowed' },
    {
      name: 'redeeming clients without keys',
      extra: { jwks: undefined },
      status: 400,
      code: 'invalid_key_source',
    },
    {
      name: 'an agent id outside the pattern',
      extra: { redeemingClients: ['a b'] },
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'an unknown subject mapping',
      extra: { subjectMapping: 'rename' },
      status: 400,
      code: 'validation_failed',
    },
  ])('refuses $name', async ({ extra, status, code }) => {
    const body: Record<string, unknown> = await validBody(extra);
    for (const [name, value] of Object.entries(body)) if (value === undefined) delete body[name];
    await expectRefused(body, status, code);
  });

  it('refuses private key material', async () => {
    await expectRefused(await validBody({ jwks: { keys: [await privateJwk()] } }), 400, 'invalid_jwks');
  });

  it('refuses an issuer registered twice', async () => {
    const body = await validBody();
    expect((await admin.post('/admin/peer-domains', body)).status).toBe(201);
    await expectRefused(await validBody({ issuer: body.issuer }), 409, 'conflict');
  });
});

describe('PATCH and DELETE /admin/peer-domains/{id}', () => {
  it('changes a peer, re-validating the whole object, and records each change', async () => {
    const created = (await admin.post('/admin/peer-domains', await validBody())).body;
    const changed = await admin.patch(path('peer-domains', created.id), {
      acceptedScopes: ['ledger.read', 'ledger.write'],
      maxDelegationDepth: 3,
    });
    expect(changed.status, changed.text).toBe(200);
    expect(changed.body).toMatchObject({
      acceptedScopes: ['ledger.read', 'ledger.write'],
      maxDelegationDepth: 3,
    });
    // Removing the keys of a peer whose grants are redeemed is refused, and changes nothing.
    expectProblem(
      await admin.patch(path('peer-domains', created.id), { jwks: null }),
      400,
      'invalid_key_source',
    );
    expect((await admin.get(path('peer-domains', created.id))).body.jwks).toEqual(created.jwks);

    expect((await admin.delete(path('peer-domains', created.id))).status).toBe(204);
    expectProblem(await admin.get(path('peer-domains', created.id)), 404, 'not_found');
    const actions = await server.database.prisma.adminEvent.findMany({
      where: { targetType: 'peer_domain', targetId: created.id },
      orderBy: { id: 'asc' },
      select: { action: true },
    });
    expect(actions.map((row) => row.action)).toEqual([
      'peer_domain.created',
      'peer_domain.updated',
      'peer_domain.deleted',
    ]);
  });

  it('answers 404 for an unknown peer', async () => {
    expectProblem(await admin.patch(path('peer-domains', 'nope'), { grantTtlSeconds: 30 }), 404, 'not_found');
    expectProblem(await admin.delete(path('peer-domains', 'nope')), 404, 'not_found');
  });

  it('is not reachable without the admin credential', async () => {
    const anonymous = adminApi(server, null);
    expect((await anonymous.get('/admin/peer-domains')).status).toBe(401);
    expect((await anonymous.post('/admin/peer-domains', await validBody())).status).toBe(401);
  });
});

describe('the OpenAPI document', () => {
  it('describes the peer domains and the chain origin', async () => {
    const document = (await (await fetch(`${server.baseUrl}/docs/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    expect(Object.keys(document.paths['/admin/peer-domains'] ?? {})).toEqual(
      expect.arrayContaining(['get', 'post']),
    );
    expect(Object.keys(document.paths['/admin/peer-domains/{id}'] ?? {})).toEqual(
      expect.arrayContaining(['get', 'patch', 'delete']),
    );
    expect(JSON.stringify(document.paths['/admin/chains/{txn}'])).toContain('grantJti');
  });
});

describe('the names a peer takes', () => {
  it('keeps its issuer from becoming a resource or an agent', async () => {
    const body = await validBody();
    expect((await admin.post('/admin/peer-domains', body)).status).toBe(201);
    expectProblem(await admin.post('/admin/resources', { id: body.issuer, scopes: ['x'] }), 409, 'conflict');
    expectProblem(
      await admin.post('/admin/agents', { id: body.issuer, name: 'n', allowedScopes: [] }),
      409,
      'conflict',
    );
  });

  it('cannot take the id of a registered resource as its issuer', async () => {
    const issuer = peerUrl();
    expect((await admin.post('/admin/resources', { id: issuer, scopes: ['x'] })).status).toBe(201);
    await expectRefused(await validBody({ issuer }), 409, 'conflict');
  });
});
