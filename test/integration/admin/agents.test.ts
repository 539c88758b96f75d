/**
 * The agent lifecycle through the admin API (CONTRACT §4): register, read, list, change, disable,
 * enable, rotate the secret, delete; and what each step means at the token endpoint at once
 * (SECURITY-CASES AD-09, AD-10).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashClientSecret } from '../../../src/infra/client-secrets.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import {
  adminApi,
  clientCredentials,
  expectProblem,
  path,
  publicJwk,
  uniqueId,
  type AdminApi,
} from './admin-client.js';

let server: TestServer;
let admin: AdminApi;
const RESOURCE = 'https://api.agents-test.example';

beforeAll(async () => {
  server = await startTestServer();
  admin = adminApi(server);
  expect((await admin.post('/admin/resources', { id: RESOURCE, scopes: ['read', 'write'] })).status).toBe(
    201,
  );
});

afterAll(async () => {
  await server?.close();
});

async function register(extra: Record<string, unknown> = {}) {
  const response = await admin.post('/admin/agents', {
    id: uniqueId('agent'),
    name: 'an agent',
    allowedScopes: ['read'],
    allowedAudiences: [RESOURCE],
    ...extra,
  });
  expect(response.status, response.text).toBe(201);
  return response.body as { id: string; clientSecret?: string } & Record<string, unknown>;
}

async function storedSecretHash(id: string): Promise<string | null | undefined> {
  return (await server.database.prisma.agent.findUnique({ where: { id } }))?.secretHash;
}

describe('POST /admin/agents', () => {
  it('registers an agent with the contract defaults and shows its secret once', async () => {
    const id = uniqueId('defaults');
    const response = await admin.post('/admin/agents', { id, name: 'Defaults' });
    expect(response.status).toBe(201);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.body).toMatchObject({
      id,
      name: 'Defaults',
      description: '',
      owner: '',
      status: 'enabled',
      tokenEndpointAuthMethod: 'client_secret_basic',
      jwks: null,
      jwksUri: null,
      allowedScopes: [],
      allowedAudiences: [],
      grantTypes: ['client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange'],
      maxDelegationDepth: 4,
      tokenTtlSeconds: 300,
      mayImpersonate: false,
      deletedAt: null,
    });
    expect(response.body.clientSecret).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(response.body).not.toHaveProperty('secretHash');
    // Stored only as a digest (ADR 0002).
    expect(await storedSecretHash(id)).toBe(hashClientSecret(response.body.clientSecret));
    expect(await storedSecretHash(id)).not.toContain(response.body.clientSecret);
  });

  it('generates an id when none is given', async () => {
    const response = await admin.post('/admin/agents', { name: 'anonymous' });
    expect(response.status).toBe(201);
    expect(response.body.id).toMatch(/^agent-[A-Za-z0-9._:/-]+$/);
    expect((await admin.get(path('agents', response.body.id))).status).toBe(200);
  });

  it('registers a private_key_jwt agent with a JWKS and no secret', async () => {
    const jwks = { keys: [await publicJwk()] };
    const agent = await register({ tokenEndpointAuthMethod: 'private_key_jwt', jwks });
    expect(agent).not.toHaveProperty('clientSecret');
    expect(agent.jwks).toEqual(jwks);
    expect(await storedSecretHash(agent.id)).toBeNull();
  });

  it('lets the new agent get a token with its secret at once', async () => {
    const agent = await register({ tokenEndpointAuthMethod: 'client_secret_post' });
    const issued = await clientCredentials(
      server,
      agent.id,
      agent.clientSecret as string,
      RESOURCE,
      'client_secret_post',
    );
    expect(issued.status, issued.text).toBe(200);
    expect(issued.body.access_token).toEqual(expect.any(String));
  });
});

describe('GET /admin/agents and /admin/agents/{id}', () => {
  it('reads an agent without any secret', async () => {
    const agent = await register({ description: 'reads mail', owner: 'team-a' });
    const response = await admin.get(path('agents', agent.id));
    expect(response.status).toBe(200);
    const { clientSecret: _secret, ...view } = agent;
    expect(response.body).toEqual(view);
    expect(response.text).not.toContain(agent.clientSecret as string);
    expect(response.text).not.toMatch(/"clientSecret"|"secretHash"|sha256:/);
  });

  it('answers 404 for an agent that was never registered', async () => {
    expectProblem(await admin.get(path('agents', 'never-registered')), 404, 'not_found');
  });

  it('reads an id holding slashes and colons when it is percent-encoded', async () => {
    const id = `urn:agents:${uniqueId('team')}/mailer`;
    await register({ id });
    const response = await admin.get(path('agents', id));
    expect(response.status).toBe(200);
    expect(response.body.id).toBe(id);
  });

  it('lists every agent once across pages, in id order, without secrets', async () => {
    const prefix = uniqueId('page');
    const ids = [];
    for (let index = 0; index < 5; index += 1) ids.push((await register({ id: `${prefix}-${index}` })).id);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
      const response = await admin.get(`/admin/agents?limit=2${query}`);
      expect(response.status).toBe(200);
      expect(response.body.items.length).toBeLessThanOrEqual(2);
      expect(response.text).not.toMatch(/"clientSecret"|"secretHash"|sha256:/);
      seen.push(...response.body.items.map((item: { id: string }) => item.id));
      cursor = response.body.nextCursor;
      pages += 1;
    } while (cursor !== null && pages < 100);

    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual([...seen].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(seen).toEqual(expect.arrayContaining(ids));
    expect(seen.length).toBe(
      await server.database.prisma.agent.count({ where: { status: { not: 'deleted' } } }),
    );
  });

  it.each([
    ['limit=0'],
    ['limit=201'],
    ['limit=ten'],
    ['cursor=%25%25%25'],
    ['sort=id'],
    ["cursor=' OR 1=1--"],
  ])('refuses the list query %s with 400', async (query) => {
    const response = await admin.get(`/admin/agents?${query}`);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });
});

describe('PATCH /admin/agents/{id}', () => {
  it('changes the given fields and keeps the others', async () => {
    const agent = await register({ description: 'before' });
    const response = await admin.patch(path('agents', agent.id), {
      description: 'after',
      allowedScopes: ['read', 'write'],
      tokenTtlSeconds: 60,
    });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      id: agent.id,
      name: agent.name,
      description: 'after',
      allowedScopes: ['read', 'write'],
      tokenTtlSeconds: 60,
    });
    expect(response.body).not.toHaveProperty('clientSecret');
    expect((await admin.get(path('agents', agent.id))).body.description).toBe('after');
    // The secret method did not change, so the secret still works.
    const issued = await clientCredentials(server, agent.id, agent.clientSecret as string, RESOURCE);
    expect(issued.status).toBe(200);
  });

  it('never changes the id', async () => {
    const agent = await register();
    expectProblem(
      await admin.patch(path('agents', agent.id), { id: 'renamed-agent' }),
      400,
      'validation_failed',
    );
    expect((await admin.get(path('agents', 'renamed-agent'))).status).toBe(404);
  });

  it('re-validates the merged agent: private_key_jwt without keys is refused and nothing changes', async () => {
    const agent = await register();
    const response = await admin.patch(path('agents', agent.id), {
      tokenEndpointAuthMethod: 'private_key_jwt',
    });
    expectProblem(response, 400, 'invalid_key_source');
    expect((await admin.get(path('agents', agent.id))).body.tokenEndpointAuthMethod).toBe(
      'client_secret_basic',
    );
    expect(await storedSecretHash(agent.id)).toBe(hashClientSecret(agent.clientSecret as string));
  });

  it('switching to private_key_jwt clears the secret; switching back issues a new one', async () => {
    const agent = await register({ tokenEndpointAuthMethod: 'client_secret_post' });
    const toKeys = await admin.patch(path('agents', agent.id), {
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwks: { keys: [await publicJwk()] },
    });
    expect(toKeys.status).toBe(200);
    expect(toKeys.body).not.toHaveProperty('clientSecret');
    expect(await storedSecretHash(agent.id)).toBeNull();
    const oldSecret = await clientCredentials(
      server,
      agent.id,
      agent.clientSecret as string,
      RESOURCE,
      'client_secret_post',
    );
    expectOAuthError(oldSecret, 401, 'invalid_client');

    const toSecret = await admin.patch(path('agents', agent.id), {
      tokenEndpointAuthMethod: 'client_secret_post',
    });
    expect(toSecret.status).toBe(200);
    expect(toSecret.body.jwks).toBeNull();
    expect(toSecret.body.clientSecret).toEqual(expect.any(String));
    expect(toSecret.body.clientSecret).not.toBe(agent.clientSecret);
    const issued = await clientCredentials(
      server,
      agent.id,
      toSecret.body.clientSecret,
      RESOURCE,
      'client_secret_post',
    );
    expect(issued.status, issued.text).toBe(200);
  });

  it('refuses a maxDelegationDepth above the service limit', async () => {
    const agent = await register();
    const response = await admin.patch(path('agents', agent.id), {
      maxDelegationDepth: server.config.maxDelegationDepth + 1,
    });
    expectProblem(response, 400, 'invalid_value');
    expect((await admin.get(path('agents', agent.id))).body.maxDelegationDepth).toBe(4);
  });

  it('refuses an empty change and unknown fields', async () => {
    const agent = await register();
    expectProblem(await admin.patch(path('agents', agent.id), {}), 400, 'validation_failed');
    expectProblem(
      await admin.patch(path('agents', agent.id), { status: 'enabled' }),
      400,
      'validation_failed',
    );
    expectProblem(
      await admin.patch(path('agents', agent.id), { secretHash: hashClientSecret('chosen') }),
      400,
      'validation_failed',
    );
    expect(await storedSecretHash(agent.id)).toBe(hashClientSecret(agent.clientSecret as string));
  });

  it('answers 404 for an unknown agent', async () => {
    expectProblem(await admin.patch(path('agents', 'no-such-agent'), { name: 'x' }), 404, 'not_found');
  });
});

function expectOAuthError(
  response: { status: number; body: { error?: string } },
  status: number,
  error: string,
) {
  expect({ status: response.status, error: response.body?.error }).toEqual({ status, error });
  expect(response.body).not.toHaveProperty('access_token');
}

describe('disable and enable', () => {
  it('a disabled agent cannot authenticate at once; enabled again, it can', async () => {
    const agent = await register();
    const secret = agent.clientSecret as string;
    expect((await clientCredentials(server, agent.id, secret, RESOURCE)).status).toBe(200);

    const disabled = await admin.post(path('agents', agent.id, 'disable'));
    expect(disabled.status).toBe(200);
    expect(disabled.body.status).toBe('disabled');
    expect((await admin.get(path('agents', agent.id))).body.status).toBe('disabled');
    expectOAuthError(await clientCredentials(server, agent.id, secret, RESOURCE), 401, 'invalid_client');

    const enabled = await admin.post(path('agents', agent.id, 'enable'));
    expect(enabled.status).toBe(200);
    expect(enabled.body.status).toBe('enabled');
    expect((await clientCredentials(server, agent.id, secret, RESOURCE)).status).toBe(200);
  });

  it('answers 404 for an unknown agent', async () => {
    expectProblem(await admin.post(path('agents', 'no-such-agent', 'disable')), 404, 'not_found');
    expectProblem(await admin.post(path('agents', 'no-such-agent', 'enable')), 404, 'not_found');
  });
});

describe('POST /admin/agents/{id}/secret', () => {
  it('returns a new secret once; the old one stops working at once', async () => {
    const agent = await register();
    const oldSecret = agent.clientSecret as string;
    expect((await clientCredentials(server, agent.id, oldSecret, RESOURCE)).status).toBe(200);

    const rotated = await admin.post(path('agents', agent.id, 'secret'));
    expect(rotated.status).toBe(200);
    expect(rotated.headers.get('cache-control')).toBe('no-store');
    const newSecret = rotated.body.clientSecret as string;
    expect(newSecret).toEqual(expect.any(String));
    expect(newSecret).not.toBe(oldSecret);

    expectOAuthError(await clientCredentials(server, agent.id, oldSecret, RESOURCE), 401, 'invalid_client');
    expect((await clientCredentials(server, agent.id, newSecret, RESOURCE)).status).toBe(200);
    expect(await storedSecretHash(agent.id)).toBe(hashClientSecret(newSecret));
    expect((await admin.get(path('agents', agent.id))).text).not.toContain(newSecret);
  });

  it('refuses to give a private_key_jwt agent a secret', async () => {
    const agent = await register({
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwks: { keys: [await publicJwk()] },
    });
    expectProblem(await admin.post(path('agents', agent.id, 'secret')), 400, 'secret_not_applicable');
    expect(await storedSecretHash(agent.id)).toBeNull();
  });
});

describe('DELETE /admin/agents/{id}', () => {
  it('removes the agent from reads and the token endpoint, and keeps its id reserved', async () => {
    const agent = await register();
    const secret = agent.clientSecret as string;

    const deleted = await admin.delete(path('agents', agent.id));
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');

    expectProblem(await admin.get(path('agents', agent.id)), 404, 'not_found');
    expectProblem(await admin.patch(path('agents', agent.id), { name: 'back' }), 404, 'not_found');
    expectProblem(await admin.post(path('agents', agent.id, 'enable')), 404, 'not_found');
    expectProblem(await admin.post(path('agents', agent.id, 'secret')), 404, 'not_found');
    expectProblem(await admin.delete(path('agents', agent.id)), 404, 'not_found');
    expectOAuthError(await clientCredentials(server, agent.id, secret, RESOURCE), 401, 'invalid_client');

    // A tombstone: status deleted, no secret digest left.
    const row = await server.database.prisma.agent.findUnique({ where: { id: agent.id } });
    expect(row).toMatchObject({ status: 'deleted', secretHash: null });
    expect(row?.deletedAt).toBeInstanceOf(Date);

    // Registering the same id again is refused (AD-10): old chains never rebind to a new agent.
    const again = await admin.post('/admin/agents', { id: agent.id, name: 'impostor' });
    expectProblem(again, 409, 'conflict');
    expect(again.body).not.toHaveProperty('clientSecret');
  });

  it('lists deleted agents only when asked', async () => {
    const agent = await register({ id: `${uniqueId('zz-deleted')}` });
    expect((await admin.delete(path('agents', agent.id))).status).toBe(204);
    const listAll = async (query: string) => {
      const items: { id: string; status: string }[] = [];
      let cursor: string | null = null;
      do {
        const response = await admin.get(
          `/admin/agents?limit=200${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        expect(response.status).toBe(200);
        items.push(...response.body.items);
        cursor = response.body.nextCursor;
      } while (cursor !== null);
      return items;
    };
    expect((await listAll('')).map((item) => item.id)).not.toContain(agent.id);
    expect((await listAll('&includeDeleted=true')).find((item) => item.id === agent.id)).toMatchObject({
      status: 'deleted',
    });
  });
});

describe('concurrent registrations', () => {
  it('lets exactly one of many simultaneous registrations of one id succeed', async () => {
    const id = uniqueId('race');
    const responses = await Promise.all(
      Array.from({ length: 8 }, (_, index) => admin.post('/admin/agents', { id, name: `racer ${index}` })),
    );
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses).toEqual([201, ...Array.from({ length: 7 }, () => 409)]);
    const winner = responses.find((response) => response.status === 201);
    expect((await admin.get(path('agents', id))).body.name).toBe(winner?.body.name);
  });

  it('never lets one id become both an agent and a resource', async () => {
    const id = uniqueId('both');
    const responses = await Promise.all(
      Array.from({ length: 4 }, (_, index) =>
        index % 2 === 0
          ? admin.post('/admin/agents', { id, name: 'agent' })
          : admin.post('/admin/resources', { id, scopes: ['read'] }),
      ),
    );
    expect(responses.filter((response) => response.status === 201)).toHaveLength(1);
    const [agents, resources] = await Promise.all([
      server.database.prisma.agent.count({ where: { id } }),
      server.database.prisma.resource.count({ where: { id } }),
    ]);
    expect(agents + resources).toBe(1);
  });
});
