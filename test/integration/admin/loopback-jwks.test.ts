/**
 * Development mode (ALLOW_LOOPBACK_HTTP_JWKS=true): plain http is allowed on loopback hosts only,
 * link-local and metadata addresses stay refused, and this service still cannot trust itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { adminApi, expectProblem, publicJwk, uniqueId, type AdminApi } from './admin-client.js';

let server: TestServer;
let admin: AdminApi;

beforeAll(async () => {
  server = await startTestServer({ env: { ALLOW_LOOPBACK_HTTP_JWKS: 'true' } });
  admin = adminApi(server);
});

afterAll(async () => {
  await server?.close();
});

describe('with ALLOW_LOOPBACK_HTTP_JWKS', () => {
  it('accepts an http issuer and jwksUri on loopback', async () => {
    const response = await admin.post('/admin/trusted-issuers', {
      issuer: 'http://127.0.0.1:9999/idp',
      jwksUri: 'http://127.0.0.1:9999/idp/jwks',
      audiences: ['https://sts.example'],
    });
    expect(response.status, response.text).toBe(201);
    const agent = await admin.post('/admin/agents', {
      id: uniqueId('local-keys'),
      name: 'local keys',
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwksUri: 'http://localhost:9999/jwks',
    });
    expect(agent.status, agent.text).toBe(201);
  });

  it('refuses this service as a trusted issuer', async () => {
    const before = await server.database.prisma.trustedIssuer.count();
    for (const issuer of [server.config.issuer, `${server.config.issuer}/`]) {
      const response = await admin.post('/admin/trusted-issuers', {
        issuer,
        jwks: { keys: [await publicJwk()] },
        audiences: ['https://sts.example'],
      });
      expectProblem(response, 400, 'reserved_identifier');
    }
    expect(await server.database.prisma.trustedIssuer.count()).toBe(before);
  });

  it.each([
    ['plain http off loopback', 'http://idp.example/jwks'],
    ['plain http to the metadata address', 'http://169.254.169.254/latest/meta-data'],
    ['https to the metadata address', 'https://169.254.169.254/jwks'],
    ['a file URL', 'file:///etc/passwd'],
  ])('still refuses %s', async (_name, jwksUri) => {
    const response = await admin.post('/admin/agents', {
      id: uniqueId('refused'),
      name: 'refused',
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwksUri,
    });
    expectProblem(response, 400, 'invalid_url');
  });
});
