/**
 * Red team: AD-06 refuses loopback JWKS URIs (outside development) so that an admin write cannot
 * point this service's key fetches at its own host. WHATWG URL keeps an IPv4-mapped IPv6 address
 * (`[::ffff:127.0.0.1]` → `[::ffff:7f00:1]`) as IPv6, which the loopback check must still see
 * through, as the link-local check already does for `[::ffff:169.254.169.254]`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueSuffix } from '../../helpers/fixtures.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

const suffix = uniqueSuffix();
let server: TestServer;

async function post(path: string, body: unknown) {
  const response = await fetch(server.baseUrl + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.close();
});

const MAPPED_LOOPBACK = [
  'https://[::ffff:127.0.0.1]/jwks',
  'https://[::ffff:127.1.2.3]:8443/jwks',
  'https://[0:0:0:0:0:ffff:7f00:1]/jwks',
];

describe('IPv4-mapped IPv6 loopback JWKS URIs (AD-06)', () => {
  it.each(MAPPED_LOOPBACK)('refuses a trusted issuer with jwksUri %s', async (jwksUri) => {
    const before = await server.database.prisma.trustedIssuer.count();
    const response = await post('/admin/trusted-issuers', {
      issuer: `https://idp-${suffix}-${before}.example`,
      jwksUri,
      audiences: [`https://sts-${suffix}.example`],
    });
    expect(response.status, JSON.stringify(response.body)).toBe(400);
    expect(response.body.code).toBe('invalid_url');
    expect(await server.database.prisma.trustedIssuer.count()).toBe(before);
  });

  it.each(MAPPED_LOOPBACK)('refuses an agent with jwksUri %s', async (jwksUri) => {
    const before = await server.database.prisma.agent.count();
    const response = await post('/admin/agents', {
      id: `mapped-${suffix}-${before}`,
      name: 'mapped loopback',
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwksUri,
    });
    expect(response.status, JSON.stringify(response.body)).toBe(400);
    expect(response.body.code).toBe('invalid_url');
    expect(await server.database.prisma.agent.count()).toBe(before);
  });

  it('still accepts an IPv4-mapped public address', async () => {
    const response = await post('/admin/trusted-issuers', {
      issuer: `https://public-${suffix}.example`,
      jwksUri: 'https://[::ffff:203.0.113.7]/jwks',
      audiences: [`https://sts-public-${suffix}.example`],
    });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
  });
});
