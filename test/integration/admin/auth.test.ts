/**
 * Admin API authentication (CONTRACT §4, SECURITY-CASES AD-01): the bootstrap ADMIN_TOKEN, or an
 * access token of this service addressed to the issuer with `sts:admin`. Anything else is 401,
 * a valid token without the scope 403, and nothing changes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import {
  adminApi,
  clientCredentials,
  expectProblem,
  mintServiceToken,
  path,
  registerOperator,
  uniqueId,
  type AdminApi,
} from './admin-client.js';

let server: TestServer;
let admin: AdminApi;
let operator: string;
const RESOURCE = 'https://api.auth-test.example';

beforeAll(async () => {
  server = await startTestServer();
  admin = adminApi(server);
  expect((await admin.post('/admin/resources', { id: RESOURCE, scopes: ['read'] })).status).toBe(201);
  operator = uniqueId('operator');
  const created = await admin.post('/admin/agents', {
    id: operator,
    name: 'operator',
    allowedScopes: ['sts:admin', 'read'],
    allowedAudiences: [server.config.issuer, RESOURCE],
  });
  expect(created.status).toBe(201);
});

afterAll(async () => {
  await server?.close();
});

async function agentCount(): Promise<number> {
  return server.database.prisma.agent.count();
}

describe('the bootstrap admin token', () => {
  it('refuses a request without credentials with a 401 problem and a Bearer challenge', async () => {
    const response = await adminApi(server, null).get('/admin/agents');
    expectProblem(response, 401, 'unauthorized');
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /);
  });

  it.each([
    ['a wrong token', (token: string) => `Bearer ${token}x`],
    ['a prefix of the token', (token: string) => `Bearer ${token.slice(0, -1)}`],
    ['the token under the Basic scheme', (token: string) => `Basic ${token}`],
    ['the bare token without a scheme', (token: string) => token],
    ['an empty bearer', () => 'Bearer '],
  ])('refuses %s with 401', async (_name, header) => {
    const response = await adminApi(server, null).call('GET', '/admin/agents', undefined, {
      authorization: header(server.adminToken),
    });
    expectProblem(response, 401, 'unauthorized');
  });

  it('accepts the admin token, with the scheme in any case', async () => {
    const response = await adminApi(server, null).call('GET', '/admin/agents', undefined, {
      authorization: `bearer ${server.adminToken}`,
    });
    expect(response.status).toBe(200);
  });

  it('changes nothing when an unauthenticated request tries to write', async () => {
    const before = await agentCount();
    const response = await adminApi(server, 'not-the-admin-token').post('/admin/agents', {
      id: uniqueId('intruder'),
      name: 'intruder',
    });
    expectProblem(response, 401, 'unauthorized');
    expect(await agentCount()).toBe(before);
  });
});

describe('access tokens of this service', () => {
  it('accepts a token addressed to the issuer with sts:admin', async () => {
    const { token } = await mintServiceToken(server, {
      clientId: operator,
      aud: server.config.issuer,
      scope: 'sts:admin',
    });
    const response = await adminApi(server, token).get(path('agents', operator));
    expect(response.status).toBe(200);
    expect(response.body.id).toBe(operator);
  });

  it('answers 403 to a token addressed to the issuer without sts:admin, and changes nothing', async () => {
    const { token } = await mintServiceToken(server, {
      clientId: operator,
      aud: server.config.issuer,
      scope: 'read',
    });
    const before = await agentCount();
    const response = await adminApi(server, token).post('/admin/agents', { name: 'x' });
    expectProblem(response, 403, 'forbidden');
    expect(await agentCount()).toBe(before);
  });

  it('answers 401 to a real agent token addressed to a resource, even with sts:admin elsewhere', async () => {
    const rotated = await admin.post(path('agents', operator, 'secret'));
    expect(rotated.status).toBe(200);
    const issued = await clientCredentials(server, operator, rotated.body.clientSecret, RESOURCE);
    expect(issued.status).toBe(200);
    expectProblem(await adminApi(server, issued.body.access_token).get('/admin/agents'), 401, 'unauthorized');

    const { token } = await mintServiceToken(server, {
      clientId: operator,
      aud: RESOURCE,
      scope: 'sts:admin',
    });
    expectProblem(await adminApi(server, token).get('/admin/agents'), 401, 'unauthorized');
  });

  it('answers 401 to an expired token', async () => {
    const { token } = await mintServiceToken(server, {
      clientId: operator,
      aud: server.config.issuer,
      scope: 'sts:admin',
      expiresIn: -120,
    });
    expectProblem(await adminApi(server, token).get('/admin/agents'), 401, 'unauthorized');
  });

  it('answers 401 to a well-signed token this service never recorded', async () => {
    const { token } = await mintServiceToken(server, {
      clientId: operator,
      aud: server.config.issuer,
      scope: 'sts:admin',
      record: false,
    });
    expectProblem(await adminApi(server, token).get('/admin/agents'), 401, 'unauthorized');
  });

  it('answers 401 to a revoked token', async () => {
    const { token, jti } = await mintServiceToken(server, {
      clientId: operator,
      aud: server.config.issuer,
      scope: 'sts:admin',
    });
    expect((await adminApi(server, token).get('/admin/agents')).status).toBe(200);
    await server.database.prisma.issuedToken.update({ where: { jti }, data: { revokedAt: new Date() } });
    expectProblem(await adminApi(server, token).get('/admin/agents'), 401, 'unauthorized');
  });

  it('answers 401 to a token with a tampered signature', async () => {
    const { token } = await mintServiceToken(server, {
      clientId: operator,
      aud: server.config.issuer,
      scope: 'sts:admin',
    });
    const [header, payload] = token.split('.');
    const forged = Buffer.from(
      JSON.stringify({
        ...JSON.parse(Buffer.from(payload as string, 'base64url').toString()),
        sub: 'someone',
      }),
    ).toString('base64url');
    const signature = token.split('.')[2] as string;
    expectProblem(
      await adminApi(server, `${header}.${forged}.${signature}`).get('/admin/agents'),
      401,
      'unauthorized',
    );
  });

  it('answers 401 once the agent that holds the token is disabled', async () => {
    const holder = uniqueId('holder');
    await registerOperator(server, holder);
    const { token } = await mintServiceToken(server, {
      clientId: holder,
      aud: server.config.issuer,
      scope: 'sts:admin',
    });
    expect((await adminApi(server, token).get('/admin/agents')).status).toBe(200);
    expect((await admin.post(path('agents', holder, 'disable'))).status).toBe(200);
    expectProblem(await adminApi(server, token).get('/admin/agents'), 401, 'unauthorized');
  });
});
