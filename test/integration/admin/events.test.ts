/**
 * The admin change log (GET /admin/events): every successful admin write records exactly one
 * event, in its own transaction, naming the caller (the bootstrap admin token, or the agent and
 * jti of an sts:admin access token obtained at /token), the target and the fields that changed;
 * a refused request records none; no secret, secret digest or private key material ever appears;
 * the database refuses to change or remove an event.
 */
import { decodeJwt } from 'jose';
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
  type ApiResponse,
} from './admin-client.js';

interface EventView {
  id: string;
  at: string;
  actorKind: 'admin_token' | 'access_token';
  actor: string | null;
  actorJti: string | null;
  action: string;
  targetType: string;
  targetId: string;
  changes: Record<string, unknown>;
  requestId: string;
}

let server: TestServer;
/** The bootstrap admin token. */
let bootstrap: AdminApi;
/** An sts:admin access token the operator agent obtained at /token. */
let operatorApi: AdminApi;
let operator: string;
let operatorJti: string;
/** Every client secret the API has shown, to prove none reaches the log. */
const secrets: string[] = [];
const RESOURCE = 'https://api.events-test.example';

const BOOTSTRAP = { actorKind: 'admin_token', actor: null, actorJti: null };
const asOperator = () => ({ actorKind: 'access_token', actor: operator, actorJti: operatorJti });

async function eventCount(): Promise<number> {
  return server.database.prisma.adminEvent.count();
}

async function listEvents(query: Record<string, string> = {}): Promise<ApiResponse> {
  return bootstrap.get(`/admin/events?${new URLSearchParams(query).toString()}`);
}

/** Every event matching `query`, following the cursors. */
async function allPages(query: Record<string, string> = {}): Promise<EventView[]> {
  const items: EventView[] = [];
  let cursor: string | null = null;
  do {
    const page: ApiResponse = await listEvents({ ...query, ...(cursor ? { cursor } : {}) });
    expect(page.status, page.text).toBe(200);
    items.push(...(page.body.items as EventView[]));
    cursor = page.body.nextCursor;
  } while (cursor !== null);
  return items;
}

/** Sends one admin write and returns its answer and the one event it recorded. */
async function recorded(
  send: () => Promise<ApiResponse>,
  expectedStatus: number,
): Promise<{ response: ApiResponse; event: EventView }> {
  const before = await eventCount();
  const response = await send();
  expect(response.status, response.text).toBe(expectedStatus);
  expect(await eventCount()).toBe(before + 1);
  const page = await listEvents({ limit: '1' });
  expect(page.status).toBe(200);
  const event = page.body.items[0] as EventView;
  expect(event.requestId).toEqual(expect.any(String));
  return { response, event };
}

/** Sends a write that must be refused and checks that it recorded nothing. */
async function refused(send: () => Promise<ApiResponse>, status: number, code: string): Promise<void> {
  const before = await eventCount();
  expectProblem(await send(), status, code);
  expect(await eventCount()).toBe(before);
}

async function operatorToken(clientId: string, secret: string): Promise<string> {
  const response = await fetch(`${server.baseUrl}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      audience: server.config.issuer,
      scope: 'sts:admin',
    }).toString(),
  });
  const body = (await response.json()) as { access_token?: string };
  expect(response.status, JSON.stringify(body)).toBe(200);
  return body.access_token as string;
}

beforeAll(async () => {
  server = await startTestServer();
  bootstrap = adminApi(server);
  expect((await bootstrap.post('/admin/resources', { id: RESOURCE, scopes: ['read', 'write'] })).status).toBe(
    201,
  );
  operator = uniqueId('operator');
  const created = await bootstrap.post('/admin/agents', {
    id: operator,
    name: 'operator',
    allowedScopes: ['sts:admin'],
    allowedAudiences: [server.config.issuer],
  });
  expect(created.status).toBe(201);
  secrets.push(created.body.clientSecret);
  const token = await operatorToken(operator, created.body.clientSecret);
  operatorJti = decodeJwt(token).jti as string;
  operatorApi = adminApi(server, token);
});

afterAll(async () => {
  await server?.close();
});

describe('agent changes', () => {
  let id: string;

  it('records a registration by an sts:admin token with the agent, the fields it set and no secret', async () => {
    id = uniqueId('agent');
    const { response, event } = await recorded(
      () =>
        operatorApi.post('/admin/agents', {
          id,
          name: 'an agent',
          allowedScopes: ['read'],
          allowedAudiences: [RESOURCE],
        }),
      201,
    );
    secrets.push(response.body.clientSecret);
    expect(event).toMatchObject({
      ...asOperator(),
      action: 'agent.created',
      targetType: 'agent',
      targetId: id,
    });
    expect(event.changes).toMatchObject({
      name: { before: null, after: 'an agent' },
      status: { before: null, after: 'enabled' },
      allowedScopes: { before: null, after: ['read'] },
      allowedAudiences: { before: null, after: [RESOURCE] },
      tokenEndpointAuthMethod: { before: null, after: 'client_secret_basic' },
      secretHash: { before: null, after: '[redacted]' },
    });
    expect(Object.keys(event.changes)).not.toContain('createdAt');
    expect(Object.keys(event.changes)).not.toContain('id');
  });

  it('records a change of scopes with only the fields that changed, before and after', async () => {
    const { event } = await recorded(
      () => operatorApi.patch(path('agents', id), { allowedScopes: ['read', 'write'], name: 'an agent' }),
      200,
    );
    expect(event).toMatchObject({
      ...asOperator(),
      action: 'agent.updated',
      targetType: 'agent',
      targetId: id,
    });
    expect(event.changes).toEqual({ allowedScopes: { before: ['read'], after: ['read', 'write'] } });
  });

  it('records disabling and enabling', async () => {
    const disabled = await recorded(() => bootstrap.post(path('agents', id, 'disable')), 200);
    expect(disabled.event).toMatchObject({ ...BOOTSTRAP, action: 'agent.disabled', targetId: id });
    expect(disabled.event.changes).toEqual({ status: { before: 'enabled', after: 'disabled' } });

    const enabled = await recorded(() => operatorApi.post(path('agents', id, 'enable')), 200);
    expect(enabled.event).toMatchObject({ ...asOperator(), action: 'agent.enabled', targetId: id });
    expect(enabled.event.changes).toEqual({ status: { before: 'disabled', after: 'enabled' } });
  });

  it('records a secret rotation without the secret or its digest', async () => {
    const { response, event } = await recorded(() => operatorApi.post(path('agents', id, 'secret')), 200);
    secrets.push(response.body.clientSecret);
    expect(event).toMatchObject({ ...asOperator(), action: 'agent.secret_rotated', targetId: id });
    expect(event.changes).toEqual({ secretHash: { before: '[redacted]', after: '[redacted]' } });
  });

  it('records a deletion', async () => {
    const { event } = await recorded(() => bootstrap.delete(path('agents', id)), 204);
    expect(event).toMatchObject({ ...BOOTSTRAP, action: 'agent.deleted', targetType: 'agent', targetId: id });
    expect(event.changes).toMatchObject({
      status: { before: 'enabled', after: 'deleted' },
      deletedAt: { before: null, after: expect.any(String) },
      secretHash: { before: '[redacted]', after: null },
    });
  });

  it('summarises a replaced JWKS by kid and thumbprint, and a secret issued on a method switch', async () => {
    const first = await publicJwk();
    const keyed = uniqueId('keyed');
    const created = await recorded(
      () =>
        bootstrap.post('/admin/agents', {
          id: keyed,
          name: 'keyed',
          tokenEndpointAuthMethod: 'private_key_jwt',
          jwks: { keys: [first] },
        }),
      201,
    );
    expect(created.event.changes.jwks).toEqual({
      before: null,
      after: [{ kid: first.kid, thumbprint: expect.any(String) }],
    });
    expect(created.event.changes).not.toHaveProperty('secretHash');

    // The same kid on another key: the thumbprint tells them apart.
    const second = { ...(await publicJwk()), kid: first.kid };
    const replaced = await recorded(
      () => bootstrap.patch(path('agents', keyed), { jwks: { keys: [second] } }),
      200,
    );
    const jwks = replaced.event.changes.jwks as {
      before: { thumbprint: string }[];
      after: { thumbprint: string }[];
    };
    expect(jwks.before[0]?.thumbprint).not.toBe(jwks.after[0]?.thumbprint);
    expect(JSON.stringify(replaced.event)).not.toContain(String(second.x));

    const switched = await recorded(
      () => bootstrap.patch(path('agents', keyed), { tokenEndpointAuthMethod: 'client_secret_post' }),
      200,
    );
    secrets.push(switched.response.body.clientSecret);
    expect(switched.event.changes).toMatchObject({
      tokenEndpointAuthMethod: { before: 'private_key_jwt', after: 'client_secret_post' },
      secretHash: { before: null, after: '[redacted]' },
      jwks: { before: [{ kid: first.kid }], after: null },
    });
  });
});

describe('resource and trusted issuer changes', () => {
  it('records a resource registered, changed and deleted, keeping what it was', async () => {
    const id = `https://${uniqueId('res')}.example`;
    const created = await recorded(
      () => bootstrap.post('/admin/resources', { id, name: 'R', scopes: ['a'] }),
      201,
    );
    expect(created.event).toMatchObject({
      ...BOOTSTRAP,
      action: 'resource.created',
      targetType: 'resource',
      targetId: id,
    });
    expect(created.event.changes).toEqual({
      name: { before: null, after: 'R' },
      scopes: { before: null, after: ['a'] },
    });

    const updated = await recorded(
      () => operatorApi.patch(path('resources', id), { scopes: ['a', 'b'] }),
      200,
    );
    expect(updated.event).toMatchObject({ ...asOperator(), action: 'resource.updated', targetId: id });
    expect(updated.event.changes).toEqual({ scopes: { before: ['a'], after: ['a', 'b'] } });

    const deleted = await recorded(() => operatorApi.delete(path('resources', id)), 204);
    expect(deleted.event).toMatchObject({ ...asOperator(), action: 'resource.deleted', targetId: id });
    expect(deleted.event.changes).toEqual({
      name: { before: 'R', after: null },
      scopes: { before: ['a', 'b'], after: null },
    });
  });

  it('records a trusted issuer registered, changed and deleted', async () => {
    const key = await publicJwk();
    const created = await recorded(
      () =>
        operatorApi.post('/admin/trusted-issuers', {
          issuer: `https://${uniqueId('idp')}.example`,
          jwks: { keys: [key] },
          audiences: ['https://sts.events-test.example'],
        }),
      201,
    );
    const id = created.response.body.id as string;
    expect(created.event).toMatchObject({
      ...asOperator(),
      action: 'trusted_issuer.created',
      targetType: 'trusted_issuer',
      targetId: id,
    });
    expect(created.event.changes).toMatchObject({
      jwks: { before: null, after: [{ kid: key.kid, thumbprint: expect.any(String) }] },
      audiences: { before: null, after: ['https://sts.events-test.example'] },
      scopeClaim: { before: null, after: 'scope' },
    });

    const updated = await recorded(
      () => bootstrap.patch(path('trusted-issuers', id), { maxDelegationDepth: 2, scopeClaim: 'scp' }),
      200,
    );
    expect(updated.event).toMatchObject({ ...BOOTSTRAP, action: 'trusted_issuer.updated', targetId: id });
    expect(updated.event.changes).toEqual({
      maxDelegationDepth: { before: null, after: 2 },
      scopeClaim: { before: 'scope', after: 'scp' },
    });

    const deleted = await recorded(() => bootstrap.delete(path('trusted-issuers', id)), 204);
    expect(deleted.event).toMatchObject({ ...BOOTSTRAP, action: 'trusted_issuer.deleted', targetId: id });
    expect(deleted.event.changes).toMatchObject({ maxDelegationDepth: { before: 2, after: null } });
  });
});

describe('token revocations', () => {
  let worker: string;
  let workerSecret: string;

  beforeAll(async () => {
    worker = uniqueId('worker');
    const created = await bootstrap.post('/admin/agents', {
      id: worker,
      name: 'worker',
      allowedScopes: ['read'],
      allowedAudiences: [RESOURCE],
    });
    expect(created.status).toBe(201);
    workerSecret = created.body.clientSecret;
    secrets.push(workerSecret);
  });

  async function workerToken(): Promise<{ jti: string; txn: string }> {
    const issued = await clientCredentials(server, worker, workerSecret, RESOURCE);
    expect(issued.status).toBe(200);
    const claims = decodeJwt(issued.body.access_token);
    return { jti: claims.jti as string, txn: claims.txn as string };
  }

  it('records a revocation by jti, by txn and by agent, with what it revoked', async () => {
    const byJti = await workerToken();
    const one = await recorded(() => operatorApi.post('/admin/revocations', { jti: byJti.jti }), 200);
    expect(one.event).toMatchObject({
      ...asOperator(),
      action: 'tokens.revoked',
      targetType: 'token',
      targetId: byJti.jti,
    });
    expect(one.event.changes).toEqual({ revoked: 1, jtis: [byJti.jti] });

    const byTxn = await workerToken();
    const chain = await recorded(() => bootstrap.post('/admin/revocations', { txn: byTxn.txn }), 200);
    expect(chain.event).toMatchObject({
      ...BOOTSTRAP,
      action: 'tokens.revoked',
      targetType: 'chain',
      targetId: byTxn.txn,
    });
    expect(chain.event.changes).toEqual({ revoked: 1, jtis: [byTxn.jti] });

    const live = [await workerToken(), await workerToken()];
    const agent = await recorded(() => bootstrap.post('/admin/revocations', { agent: worker }), 200);
    expect(agent.event).toMatchObject({
      ...BOOTSTRAP,
      action: 'tokens.revoked',
      targetType: 'agent',
      targetId: worker,
    });
    expect(agent.event.changes).toMatchObject({ revoked: 2 });
    expect([...(agent.event.changes.jtis as string[])].sort()).toEqual(live.map((t) => t.jti).sort());
  });

  it('records a revocation that found nothing left to revoke', async () => {
    const { event } = await recorded(() => bootstrap.post('/admin/revocations', { agent: worker }), 200);
    expect(event.changes).toEqual({ revoked: 0, jtis: [] });
  });
});

describe('signing key changes', () => {
  it('records a rotation and the revocation of a pending key', async () => {
    const rotated = await recorded(() => operatorApi.post('/admin/keys/rotate'), 201);
    const kid = rotated.response.body.kid as string;
    expect(rotated.event).toMatchObject({
      ...asOperator(),
      action: 'signing_key.rotated',
      targetType: 'signing_key',
      targetId: kid,
    });
    expect(rotated.event.changes).toEqual({ state: { before: null, after: rotated.response.body.state } });

    // Rotated with no delay, the new key is already active: revoke whichever key is not.
    const keys = (await bootstrap.get('/admin/keys')).body.items as { kid: string; state: string }[];
    const spare = keys.find((key) => key.state === 'next' || key.state === 'retired');
    expect(spare).toBeDefined();
    const revoked = await recorded(
      () => operatorApi.post(`/admin/keys/${encodeURIComponent(spare?.kid ?? '')}/revoke`),
      200,
    );
    expect(revoked.event).toMatchObject({
      ...asOperator(),
      action: 'signing_key.revoked',
      targetId: spare?.kid,
    });
    expect(revoked.event.changes).toEqual({ state: { before: spare?.state, after: 'revoked' } });
  });
});

describe('refused requests', () => {
  it('record nothing: validation errors, unknown targets, conflicts and missing credentials', async () => {
    const taken = uniqueId('taken');
    expect((await bootstrap.post('/admin/agents', { id: taken, name: 'taken' })).status).toBe(201);
    const keyed = uniqueId('keyed');
    expect(
      (
        await bootstrap.post('/admin/agents', {
          id: keyed,
          name: 'keyed',
          tokenEndpointAuthMethod: 'private_key_jwt',
          jwks: { keys: [await publicJwk()] },
        })
      ).status,
    ).toBe(201);
    const missing = uniqueId('missing');

    await refused(
      () => bootstrap.post('/admin/agents', { name: 'x', secretHash: 'y' }),
      400,
      'validation_failed',
    );
    await refused(
      () => operatorApi.patch(path('agents', taken), { allowedScopes: ['*'] }),
      400,
      'wildcard_not_allowed',
    );
    await refused(() => bootstrap.post(path('agents', keyed, 'secret')), 400, 'secret_not_applicable');
    await refused(() => bootstrap.post('/admin/agents', { id: taken, name: 'again' }), 409, 'conflict');
    await refused(() => bootstrap.post('/admin/resources', { id: taken }), 409, 'conflict');
    await refused(() => bootstrap.patch(path('agents', missing), { name: 'x' }), 404, 'not_found');
    await refused(() => bootstrap.post(path('agents', missing, 'disable')), 404, 'not_found');
    await refused(() => bootstrap.delete(path('agents', missing)), 404, 'not_found');
    await refused(() => bootstrap.patch(path('resources', missing), { name: 'x' }), 404, 'not_found');
    await refused(() => bootstrap.delete(path('resources', missing)), 404, 'not_found');
    await refused(() => bootstrap.delete(path('trusted-issuers', missing)), 404, 'not_found');
    await refused(() => bootstrap.post('/admin/revocations', { jti: missing }), 404, 'not_found');
    await refused(() => bootstrap.post('/admin/revocations', { agent: missing }), 404, 'not_found');
    await refused(() => bootstrap.post(`/admin/keys/${missing}/revoke`), 404, 'not_found');
    await refused(() => bootstrap.post('/admin/keys/rotate', { now: 1 }), 400, 'validation_failed');
    await refused(() => adminApi(server, null).post('/admin/agents', { name: 'x' }), 401, 'unauthorized');

    const revokedKid = (
      (await bootstrap.get('/admin/keys')).body.items as { kid: string; state: string }[]
    ).find((key) => key.state === 'revoked')?.kid;
    expect(revokedKid).toBeDefined();
    await refused(() => bootstrap.post(`/admin/keys/${revokedKid}/revoke`), 409, 'conflict');
  });

  it('leaves no change behind when its event cannot be written (one transaction)', async () => {
    const id = `https://${uniqueId('atomic')}.example`;
    await server.database.executeScript(
      `ALTER TABLE admin_events ADD CONSTRAINT test_refuse_resources CHECK (action <> 'resource.created') NOT VALID`,
    );
    try {
      const response = await bootstrap.post('/admin/resources', { id, scopes: ['a'] });
      expect(response.status).toBe(500);
    } finally {
      await server.database.executeScript('ALTER TABLE admin_events DROP CONSTRAINT test_refuse_resources');
    }
    expect(await server.database.prisma.resource.findUnique({ where: { id } })).toBeNull();
  });
});

describe('GET /admin/events', () => {
  it('lists newest first and pages through every event exactly once', async () => {
    const everything = (await listEvents({ limit: '200' })).body.items as EventView[];
    expect(everything.length).toBe(await eventCount());
    const paged = await allPages({ limit: '3' });
    expect(paged.map((event) => event.id)).toEqual(everything.map((event) => event.id));
    const ids = paged.map((event) => BigInt(event.id));
    expect(ids.every((id, index) => index === 0 || id < (ids[index - 1] as bigint))).toBe(true);
    expect((await listEvents()).body.items.length).toBe(Math.min(50, everything.length));
  });

  it('filters by actor, actor kind, action and target', async () => {
    const byOperator = await allPages({ actor: operator });
    expect(byOperator.length).toBeGreaterThan(5);
    expect(byOperator.every((event) => event.actor === operator && event.actorJti === operatorJti)).toBe(
      true,
    );

    const byBootstrap = await allPages({ actorKind: 'admin_token' });
    expect(byBootstrap.length).toBeGreaterThan(5);
    expect(byBootstrap.every((event) => event.actor === null)).toBe(true);

    const rotations = await allPages({ action: 'signing_key.rotated' });
    expect(rotations.map((event) => event.action)).toEqual(['signing_key.rotated']);

    const target = uniqueId('target');
    expect((await bootstrap.post('/admin/agents', { id: target, name: 't' })).status).toBe(201);
    expect((await operatorApi.post(path('agents', target, 'disable'))).status).toBe(200);
    expect((await bootstrap.post('/admin/revocations', { agent: target })).status).toBe(200);
    const history = await allPages({ targetType: 'agent', targetId: target });
    expect(history.map((event) => [event.action, event.actor])).toEqual([
      ['tokens.revoked', null],
      ['agent.disabled', operator],
      ['agent.created', null],
    ]);
  });

  it('filters by time, both bounds inclusive', async () => {
    const newest = (await listEvents({ limit: '1' })).body.items[0] as EventView;
    const atNewest = await allPages({ from: newest.at, to: newest.at });
    expect(atNewest.map((event) => event.id)).toContain(newest.id);
    expect(atNewest.every((event) => event.at === newest.at)).toBe(true);
    expect((await listEvents({ from: '2999-01-01T00:00:00Z' })).body.items).toEqual([]);
    expect((await listEvents({ to: '2000-01-01T00:00:00+01:00' })).body.items).toEqual([]);
  });

  it.each([
    ['an unknown action', { action: 'agent.renamed' }, 'validation_failed'],
    ['an unknown target type', { targetType: 'user' }, 'validation_failed'],
    ['an unknown parameter', { actorId: 'x' }, 'validation_failed'],
    ['a limit over 200', { limit: '201' }, 'validation_failed'],
    ['a limit of 0', { limit: '0' }, 'validation_failed'],
    ['a time without an offset', { from: '2026-01-01T00:00:00' }, 'validation_failed'],
    ['a month that does not exist', { to: '2026-13-01T00:00:00Z' }, 'validation_failed'],
    ['a day that does not exist', { from: '2026-02-30T00:00:00Z' }, 'validation_failed'],
    ['a cursor it never returned', { cursor: 'bm90LWFuLWlk' }, 'invalid_cursor'],
  ])('refuses %s with 400', async (_name, query, code) => {
    expectProblem(await listEvents(query), 400, code);
  });

  it('is readable with an sts:admin token and refused without credentials', async () => {
    expect((await operatorApi.get('/admin/events?limit=1')).status).toBe(200);
    expectProblem(await adminApi(server, null).get('/admin/events'), 401, 'unauthorized');
  });
});

describe('what the log never holds, and never loses', () => {
  it('holds no client secret, secret digest, private key or credential', async () => {
    const rows = await server.database.prisma.adminEvent.findMany();
    const stored = JSON.stringify(rows, (_key, value: unknown) =>
      typeof value === 'bigint' ? value.toString() : value,
    );
    const served = JSON.stringify(await allPages({ limit: '200' }));
    const agents = await server.database.prisma.agent.findMany({ select: { secretHash: true } });
    const keys = await server.database.prisma.signingKey.findMany({ select: { privateJwkEncrypted: true } });
    const forbidden = [
      ...secrets,
      ...secrets.map((secret) => hashClientSecret(secret)),
      ...agents.flatMap((agent) => (agent.secretHash ? [agent.secretHash] : [])),
      ...keys.map((key) => key.privateJwkEncrypted),
      server.adminToken,
    ];
    expect(secrets.length).toBeGreaterThan(4);
    for (const value of forbidden) {
      expect(stored).not.toContain(value);
      expect(served).not.toContain(value);
    }
    expect(stored).not.toMatch(/"d"\s*:/);
  });

  it('refuses to update, delete or truncate an event', async () => {
    expect(await eventCount()).toBeGreaterThan(0);
    await expect(server.database.query(`UPDATE admin_events SET actor = 'someone-else'`)).rejects.toThrow(
      /append-only/,
    );
    await expect(server.database.query(`DELETE FROM admin_events`)).rejects.toThrow(/append-only/);
    await expect(server.database.query(`TRUNCATE admin_events`)).rejects.toThrow(/append-only/);
    expect(await server.database.prisma.adminEvent.count({ where: { actor: 'someone-else' } })).toBe(0);
  });
});
