/**
 * Issue #6, "a privilege change bites on the next request" (ADR 0013): a token of this service
 * confers its audience and scopes only while the registry still grants them to the agent that
 * obtained it. An ops agent whose `sts:admin` or issuer audience an admin removes, or that an
 * admin disables, is refused on its very next admin call with the token it already holds, and
 * cannot PATCH itself back; a subject token passes on only the scopes its agent still holds; and
 * introspection answers with the privilege that still stands.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAgent, registerResource, uniqueSuffix } from '../../helpers/fixtures.js';
import {
  agentToken,
  exchange,
  exchangeRequest,
  expectRefusedResponse,
  snapshot,
  auditSince,
  type TestAgent,
} from '../../helpers/oauth.js';
import { SHARED_POSTGRES, unmet } from '../../helpers/requirements.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { adminApi, expectProblem, path, registerOperator, type AdminApi } from '../admin/admin-client.js';
import { introspect, isActive, revoke } from '../introspection-revocation/helpers.js';

let server: TestServer;
let admin: AdminApi;
let suffix: string;
let resource: string;

beforeAll(async () => {
  server = await startTestServer();
  admin = adminApi(server);
  suffix = uniqueSuffix();
  resource = `https://api-${suffix}.example/`;
  await registerResource(server, { id: resource, scopes: ['read', 'write'] });
});

afterAll(async () => {
  await server?.close();
});

/** An ops agent with a real admin token from the token endpoint, accepted by the admin API. */
async function opsAgentWithAdminToken(name: string): Promise<{ ops: TestAgent; token: string; jti: string }> {
  const id = `${name}-${suffix}`;
  const created = await registerOperator(server, id, { allowedScopes: ['read'] });
  const ops: TestAgent = {
    id,
    tokenEndpointAuthMethod: 'client_secret_basic',
    clientSecret: created.body.clientSecret as string,
  };
  const { token, claims } = await agentToken(server, ops, { audience: server.config.issuer });
  expect(claims.scope).toBe('sts:admin');
  expect((await adminApi(server, token).get(path('agents', id))).status).toBe(200);
  return { ops, token, jti: claims.jti as string };
}

async function storedAgent(id: string) {
  const row = await server.database.prisma.agent.findUniqueOrThrow({ where: { id } });
  return { status: row.status, allowedScopes: row.allowedScopes, allowedAudiences: row.allowedAudiences };
}

async function adminEventsBy(agent: string): Promise<number> {
  return server.database.prisma.adminEvent.count({ where: { actor: agent } });
}

/**
 * Presents `token` at the admin API right after a privilege change: a read, then an attempt to
 * restore the privilege. Both are refused with `status`/`code`; the agent stays as the admin left
 * it, no admin event names it, nothing is issued, and the audit log holds one row per refusal.
 */
async function expectAdminRefused(
  ops: TestAgent,
  token: string,
  jti: string,
  restore: { method: 'PATCH' | 'POST'; path: string; body?: unknown },
  expected: { status: number; code: string; rule: string | null },
): Promise<void> {
  const before = await snapshot(server);
  const stored = await storedAgent(ops.id);
  const events = await adminEventsBy(ops.id);
  const asOps = adminApi(server, token);

  expectProblem(await asOps.get(path('agents', ops.id)), expected.status, expected.code);
  expectProblem(await asOps.call(restore.method, restore.path, restore.body), expected.status, expected.code);

  expect(await storedAgent(ops.id), 'the agent is as the admin left it').toEqual(stored);
  expect(await adminEventsBy(ops.id), 'no admin event names the agent').toBe(events);
  expect(await server.database.prisma.issuedToken.count(), 'nothing issued').toBe(before.issuedTokens);
  const rows = await auditSince(server, before);
  const expectedRows = expected.rule === null ? [] : [expected.rule, expected.rule];
  expect(rows.map((row) => row.rule)).toEqual(expectedRows);
  for (const row of rows) {
    expect(row).toMatchObject({ decision: 'denied', clientId: ops.id, jti, audience: server.config.issuer });
  }
}

describe('an admin token after its agent loses the admin privilege', () => {
  it('is refused with 403 on the very next call once sts:admin is removed, and cannot PATCH it back', async () => {
    const { ops, token, jti } = await opsAgentWithAdminToken('ops-scope');
    const removed = await admin.patch(path('agents', ops.id), { allowedScopes: ['read'] });
    expect(removed.status, removed.text).toBe(200);

    await expectAdminRefused(
      ops,
      token,
      jti,
      { method: 'PATCH', path: path('agents', ops.id), body: { allowedScopes: ['sts:admin', 'read'] } },
      { status: 403, code: 'forbidden', rule: 'scope_withdrawn' },
    );
    expect((await storedAgent(ops.id)).allowedScopes).toEqual(['read']);

    // Given back by an admin, the same token works again: the check is against today's registry.
    expect((await admin.patch(path('agents', ops.id), { allowedScopes: ['sts:admin'] })).status).toBe(200);
    expect((await adminApi(server, token).get(path('agents', ops.id))).status).toBe(200);
  });

  it('is refused with 401 on the very next call once the issuer audience is removed', async () => {
    const { ops, token, jti } = await opsAgentWithAdminToken('ops-audience');
    const removed = await admin.patch(path('agents', ops.id), { allowedAudiences: [resource] });
    expect(removed.status, removed.text).toBe(200);

    await expectAdminRefused(
      ops,
      token,
      jti,
      {
        method: 'PATCH',
        path: path('agents', ops.id),
        body: { allowedAudiences: [server.config.issuer, resource] },
      },
      { status: 401, code: 'unauthorized', rule: 'audience_withdrawn' },
    );
    expect((await storedAgent(ops.id)).allowedAudiences).toEqual([resource]);
  });

  it('is refused with 401 on the very next call once the agent is disabled, and cannot enable itself', async () => {
    const { ops, token, jti } = await opsAgentWithAdminToken('ops-disabled');
    expect((await admin.post(path('agents', ops.id, 'disable'))).status).toBe(200);

    // A dead chain is refused before its privilege is weighed, as for every token (AD-10): no audit row.
    await expectAdminRefused(
      ops,
      token,
      jti,
      { method: 'POST', path: path('agents', ops.id, 'enable') },
      { status: 401, code: 'unauthorized', rule: null },
    );
    expect((await storedAgent(ops.id)).status).toBe('disabled');
  });
});

describe('a subject token after the agent that obtained it loses a scope or an audience', () => {
  /** agent-a's own token for agent-b with read and write; agent-b may pass both on to the resource. */
  async function twoAgents(name: string) {
    const bId = `${name}-b-${suffix}`;
    const a = await registerAgent(server, {
      id: `${name}-a-${suffix}`,
      allowedScopes: ['read', 'write'],
      allowedAudiences: [bId],
    });
    const b = await registerAgent(server, {
      id: bId,
      allowedScopes: ['read', 'write'],
      allowedAudiences: [resource],
    });
    const { token } = await agentToken(server, a, { audience: b.id, scope: 'read write' });
    return { a, b, token };
  }

  it('refuses a request for a withdrawn scope and grants only what still stands', async () => {
    const { a, b, token } = await twoAgents('ex-scope');
    expect((await admin.patch(path('agents', a.id), { allowedScopes: ['read'] })).status).toBe(200);

    const before = await snapshot(server);
    const response = await exchangeRequest(server, b, {
      subject_token: token,
      audience: resource,
      scope: 'write',
    });
    await expectRefusedResponse(server, before, response, {
      status: 400,
      error: 'invalid_scope',
      rule: 'scope_withdrawn',
    });
    const [row] = await auditSince(server, before);
    expect(row).toMatchObject({ clientId: b.id, subject: a.id, audience: resource, requestedScope: 'write' });

    const narrowed = await exchange(server, b, { subject_token: token, audience: resource });
    expect(narrowed.claims.scope).toBe('read');
    expect(narrowed.response.body.scope).toBe('read');
  });

  it('refuses the token once every one of its scopes is withdrawn', async () => {
    const { a, b, token } = await twoAgents('ex-all');
    expect((await admin.patch(path('agents', a.id), { allowedScopes: [] })).status).toBe(200);

    const before = await snapshot(server);
    const response = await exchangeRequest(server, b, { subject_token: token, audience: resource });
    await expectRefusedResponse(server, before, response, {
      status: 400,
      error: 'invalid_scope',
      rule: 'scope_withdrawn',
    });
  });

  it('refuses the token once its agent may no longer address the actor', async () => {
    const { a, b, token } = await twoAgents('ex-aud');
    expect((await admin.patch(path('agents', a.id), { allowedAudiences: [resource] })).status).toBe(200);

    const before = await snapshot(server);
    const response = await exchangeRequest(server, b, { subject_token: token, audience: resource });
    await expectRefusedResponse(server, before, response, {
      status: 400,
      error: 'invalid_request',
      rule: 'audience_withdrawn',
    });

    // Given back, the same token is exchanged again.
    expect((await admin.patch(path('agents', a.id), { allowedAudiences: [b.id] })).status).toBe(200);
    expect((await exchange(server, b, { subject_token: token, audience: resource })).claims.scope).toBe(
      'read write',
    );
  });
});

describe('introspection and revocation after a privilege change', () => {
  async function agentWithToken(name: string) {
    const agent = await registerAgent(server, {
      id: `${name}-${suffix}`,
      allowedScopes: ['read', 'write'],
      allowedAudiences: [resource],
    });
    const { token } = await agentToken(server, agent, { audience: resource, scope: 'read write' });
    return { agent, token };
  }

  it('answers with the scopes that still stand, and inactive once none or no audience does', async () => {
    const { agent, token } = await agentWithToken('intro');
    expect((await introspect(server, agent, token)).body).toMatchObject({
      active: true,
      scope: 'read write',
    });

    expect((await admin.patch(path('agents', agent.id), { allowedScopes: ['write'] })).status).toBe(200);
    expect((await introspect(server, agent, token)).body).toMatchObject({ active: true, scope: 'write' });

    expect((await admin.patch(path('agents', agent.id), { allowedScopes: ['mail'] })).status).toBe(200);
    expect(await isActive(server, agent, token)).toBe(false);

    expect((await admin.patch(path('agents', agent.id), { allowedScopes: ['read', 'write'] })).status).toBe(
      200,
    );
    expect(await isActive(server, agent, token)).toBe(true);
    expect((await admin.patch(path('agents', agent.id), { allowedAudiences: [] })).status).toBe(200);
    expect(await isActive(server, agent, token)).toBe(false);
  });

  it('lets a disabled agent neither introspect nor revoke, and its token stays as it was', async () => {
    const { agent, token } = await agentWithToken('revoker');
    const peer = await registerAgent(server, {
      id: `peer-${suffix}`,
      allowedScopes: ['read'],
      allowedAudiences: [agent.id],
    });
    const fromPeer = await agentToken(server, peer, { audience: agent.id });
    expect((await admin.post(path('agents', agent.id, 'disable'))).status).toBe(200);

    for (const response of [
      await revoke(server, agent, fromPeer.token),
      await introspect(server, agent, fromPeer.token),
      await revoke(server, agent, token),
    ]) {
      expect(response.status, response.text).toBe(401);
      expect(response.body.error).toBe('invalid_client');
    }
    expect(await isActive(server, peer, fromPeer.token)).toBe(true);
    const revoked = await server.database.prisma.issuedToken.count({ where: { revokedAt: { not: null } } });
    expect(revoked).toBe(0);
  });
});

describe.skipIf(unmet(SHARED_POSTGRES))('on another instance of the same database', () => {
  const REGISTRY_CACHE_TTL_MS = 1_000; // ADR 0004

  it('refuses the admin token once the registry cache has expired there', async () => {
    const second = await startTestServer({
      keepData: true,
      env: { ISSUER: server.config.issuer, ADMIN_TOKEN: server.adminToken },
    });
    try {
      const atSecond = { ...second, baseUrl: `http://127.0.0.1:${second.config.port}` };
      const { ops, token } = await opsAgentWithAdminToken('ops-elsewhere');
      expect((await adminApi(atSecond, token).get(path('agents', ops.id))).status).toBe(200);

      expect((await admin.patch(path('agents', ops.id), { allowedScopes: ['read'] })).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, REGISTRY_CACHE_TTL_MS + 100));
      expectProblem(await adminApi(atSecond, token).get(path('agents', ops.id)), 403, 'forbidden');
    } finally {
      await second.close();
    }
  });
});
