/**
 * Hostile and malformed admin input (SECURITY-CASES AD-03..AD-07): every refusal is a 400-class
 * problem document with a stable code, and nothing is stored.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
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

let agentsBefore = 0;
beforeEach(async () => {
  agentsBefore = await server.database.prisma.agent.count();
});

async function expectNothingStored(): Promise<void> {
  expect(await server.database.prisma.agent.count()).toBe(agentsBefore);
}

/** Registers an agent with `extra` and expects the given refusal, with nothing stored. */
async function expectRefused(extra: Record<string, unknown>, status: number, code: string): Promise<void> {
  const id = uniqueId('refused');
  const response = await admin.post('/admin/agents', { id, name: 'refused', ...extra });
  expectProblem(response, status, code);
  expect(response.body).not.toHaveProperty('clientSecret');
  await expectNothingStored();
  expect((await admin.get(path('agents', id))).status).toBe(404);
}

describe('agent ids (AD-04)', () => {
  it.each([
    ['the issuer URL', () => server.config.issuer],
    ['the issuer URL with a trailing slash', () => `${server.config.issuer}/`],
    ['an sts: name', () => 'sts:admin'],
    ['an STS: name in capitals', () => 'STS:anything'],
  ])('refuses %s as a reserved id', async (_name, id) => {
    await expectRefused({ id: id() }, 400, 'reserved_identifier');
  });

  it.each([['ab'], ['has space'], ['a*b'], ['émile'], ['x'.repeat(201)], ["' OR 1=1--"]])(
    'refuses the id %j outside the id pattern',
    async (id) => {
      await expectRefused({ id }, 400, 'validation_failed');
    },
  );

  it('refuses an id already used by a resource with 409', async () => {
    const id = `https://${uniqueId('resource')}.example/api`;
    expect((await admin.post('/admin/resources', { id, scopes: ['read'] })).status).toBe(201);
    await expectRefused({ id }, 409, 'conflict');
  });

  it('refuses an id already used by an agent with 409, without touching that agent', async () => {
    const id = uniqueId('taken');
    const first = await admin.post('/admin/agents', { id, name: 'first' });
    expect(first.status).toBe(201);
    agentsBefore += 1;
    await expectRefused({ id }, 409, 'conflict');
    expect((await admin.get(path('agents', id))).body.name).toBe('first');
  });
});

describe('mass assignment (AD-03)', () => {
  it.each([
    ['is_admin', true],
    ['tenant_id', 't2'],
    ['secretHash', 'sha256:chosen'],
    ['secret_hash', 'sha256:chosen'],
    ['created_by', 'mallory'],
    ['status', 'enabled'],
    ['clientSecret', 'chosen-secret-value'],
    ['allowed_scopes', ['*']],
    ['deletedAt', null],
  ])('refuses the unknown field %s', async (field, value) => {
    const response = await admin.post('/admin/agents', { id: uniqueId('mass'), name: 'n', [field]: value });
    expectProblem(response, 400, 'validation_failed');
    expect(response.body.errors).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: `/${field}` })]),
    );
    await expectNothingStored();
  });
});

describe('field values', () => {
  it.each([
    ['a missing name', { name: undefined }],
    ['an empty name', { name: '' }],
    ['an unknown auth method', { tokenEndpointAuthMethod: 'none' }],
    ['an unknown grant type', { grantTypes: ['password'] }],
    ['no grant types', { grantTypes: [] }],
    ['a token lifetime above an hour', { tokenTtlSeconds: 3601 }],
    ['a token lifetime of zero', { tokenTtlSeconds: 0 }],
    ['a token lifetime given as text', { tokenTtlSeconds: '300' }],
    ['a fractional depth', { maxDelegationDepth: 1.5 }],
    ['a depth of zero', { maxDelegationDepth: 0 }],
    ['mayImpersonate as text', { mayImpersonate: 'true' }],
    ['a scope with a space', { allowedScopes: ['read write'] }],
    ['a scope given as a string', { allowedScopes: 'read' }],
    ['duplicate scopes', { allowedScopes: ['read', 'read'] }],
    ['101 scopes', { allowedScopes: Array.from({ length: 101 }, (_, index) => `s${index}`) }],
    ['an audience with a space', { allowedAudiences: ['https://a.example/ x'] }],
  ])('refuses %s', async (_name, extra) => {
    await expectRefused(extra, 400, 'validation_failed');
  });

  it('refuses a depth above the service limit', async () => {
    await expectRefused({ maxDelegationDepth: server.config.maxDelegationDepth + 1 }, 400, 'invalid_value');
  });

  it.each([
    ['a wildcard scope', { allowedScopes: ['*'] }],
    ['a scope prefix wildcard', { allowedScopes: ['files:*'] }],
    ['a wildcard audience', { allowedAudiences: ['*'] }],
    ['a wildcard host audience', { allowedAudiences: ['https://*.corp'] }],
  ])('refuses %s (AD-05)', async (_name, extra) => {
    await expectRefused(extra, 400, 'wildcard_not_allowed');
  });
});

describe('keys of private_key_jwt agents (AD-06)', () => {
  const keyed = (jwks: unknown) => ({ tokenEndpointAuthMethod: 'private_key_jwt', jwks });

  it.each([
    ['an EC private key (d)', async () => ({ keys: [await privateJwk()] })],
    [
      'an RSA key with private members',
      async () => ({ keys: [{ ...(await rsaPublic()), d: 'AQAB', p: 'AQAB', q: 'AQAB' }] }),
    ],
    ['a symmetric key', async () => ({ keys: [{ kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0' }] })],
    ['an HMAC alg on a public key', async () => ({ keys: [{ ...(await publicJwk()), alg: 'HS256' }] })],
    ['alg none', async () => ({ keys: [{ ...(await publicJwk()), alg: 'none' }] })],
    ['an alg that does not fit the key', async () => ({ keys: [{ ...(await publicJwk()), alg: 'RS256' }] })],
    ['an encryption key', async () => ({ keys: [{ ...(await publicJwk()), use: 'enc' }] })],
    [
      'a key that does not import',
      async () => ({ keys: [{ kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA' }] }),
    ],
    ['an RSA key under 2048 bits', async () => ({ keys: [{ kty: 'RSA', n: 'AQAB'.repeat(10), e: 'AQAB' }] })],
    [
      'duplicate kids',
      async () => {
        const key = await publicJwk();
        return { keys: [key, { ...(await publicJwk()), kid: key.kid }] };
      },
    ],
  ])('refuses %s', async (_name, jwks) => {
    await expectRefused(keyed(await jwks()), 400, 'invalid_jwks');
  });

  it.each([
    ['an empty key list', { keys: [] }],
    ['a key set with extra members', { keys: [{ kty: 'EC' }], extra: true }],
    ['a key without kty', { keys: [{ crv: 'P-256' }] }],
  ])('refuses %s by schema', async (_name, jwks) => {
    await expectRefused(keyed(jwks), 400, 'validation_failed');
  });

  it('requires a key source for private_key_jwt', async () => {
    await expectRefused({ tokenEndpointAuthMethod: 'private_key_jwt' }, 400, 'invalid_key_source');
  });

  it('refuses both jwks and jwksUri', async () => {
    await expectRefused(
      { ...keyed({ keys: [await publicJwk()] }), jwksUri: 'https://keys.example/jwks' },
      400,
      'invalid_key_source',
    );
  });

  it('refuses keys for a secret method', async () => {
    await expectRefused({ jwks: { keys: [await publicJwk()] } }, 400, 'invalid_key_source');
    await expectRefused(
      { tokenEndpointAuthMethod: 'client_secret_post', jwksUri: 'https://k.example/jwks' },
      400,
      'invalid_key_source',
    );
  });

  it.each([
    ['plain http', 'http://keys.example/jwks'],
    ['the cloud metadata address', 'https://169.254.169.254/latest/meta-data'],
    ['the metadata address written as a number', 'https://2852039166/jwks'],
    ['the metadata address as IPv4-mapped IPv6', 'https://[::ffff:169.254.169.254]/jwks'],
    ['an IPv6 link-local address', 'https://[fe80::1]/jwks'],
    ['the GCP metadata host', 'https://metadata.google.internal/jwks'],
    ['localhost', 'https://localhost/jwks'],
    ['a loopback address', 'https://127.0.0.1/jwks'],
    ['the unspecified address', 'https://[::]/jwks'],
    ['a multicast address', 'https://224.0.0.251/jwks'],
    ['an IPv6 multicast address', 'https://[ff02::1]/jwks'],
    ['the AWS IPv6 metadata address', 'https://[fd00:ec2::254]/jwks'],
    ['an IPv4-compatible loopback address', 'https://[::127.0.0.1]/jwks'],
    ['a file URL', 'file:///etc/passwd'],
    ['a URL with credentials', 'https://user:pass@keys.example/jwks'],
    ['a relative URL', '/jwks'],
    ['a javascript URL', 'javascript:alert(1)'],
  ])('refuses a jwksUri on %s', async (_name, jwksUri) => {
    await expectRefused({ tokenEndpointAuthMethod: 'private_key_jwt', jwksUri }, 400, 'invalid_url');
  });

  it.each(['https://10.1.2.3/jwks', 'https://192.168.0.10/jwks', 'https://[fd12:3456::1]/jwks'])(
    'accepts a jwksUri on the private address %s, where company IdPs live',
    async (jwksUri) => {
      const response = await admin.post('/admin/agents', {
        id: uniqueId('private-keys'),
        name: 'private keys',
        tokenEndpointAuthMethod: 'private_key_jwt',
        jwksUri,
      });
      expect(response.status, response.text).toBe(201);
    },
  );

  it('accepts an https jwksUri without fetching it', async () => {
    const response = await admin.post('/admin/agents', {
      id: uniqueId('remote-keys'),
      name: 'remote keys',
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwksUri: 'https://keys.invalid/jwks',
    });
    expect(response.status).toBe(201);
    expect(response.body.jwksUri).toBe('https://keys.invalid/jwks');
  });
});

async function rsaPublic() {
  const { generateKeyPair, exportJWK } = await import('jose');
  const { publicKey } = await generateKeyPair('RS256', { extractable: true });
  return exportJWK(publicKey);
}

describe('request bodies (AD-07)', () => {
  it('refuses __proto__ without polluting any prototype', async () => {
    const response = await admin.post(
      '/admin/agents',
      `{"id":"${uniqueId('proto')}","name":"p","__proto__":{"polluted":true,"isAdmin":true}}`,
    );
    expectProblem(response, 400, 'malformed_json');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    await expectNothingStored();
  });

  it('refuses a nested __proto__', async () => {
    const response = await admin.post(
      '/admin/agents',
      `{"name":"p","jwks":{"keys":[{"kty":"EC","__proto__":{"polluted":true}}]}}`,
    );
    expectProblem(response, 400, 'malformed_json');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await expectNothingStored();
  });

  it('refuses constructor keys', async () => {
    expectProblem(
      await admin.post('/admin/agents', '{"name":"c","constructor":{"prototype":{"polluted":true}}}'),
      400,
      'malformed_json',
    );
    expectProblem(
      await admin.post('/admin/agents', '{"name":"c","constructor":"x"}'),
      400,
      'validation_failed',
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await expectNothingStored();
  });

  it('refuses JSON nested 10,000 deep with a 400 and stays up (RL-03)', async () => {
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);
    const response = await admin.post('/admin/agents', `{"name":"deep","jwks":{"keys":${deep}}}`);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    await expectNothingStored();
    expect((await admin.get('/admin/agents')).status).toBe(200);
  });

  it('refuses malformed JSON', async () => {
    expectProblem(await admin.post('/admin/agents', '{"name": "unterminated'), 400, 'malformed_json');
    await expectNothingStored();
  });

  it.each([['"a string"'], ['[]'], ['null'], ['42']])('refuses the JSON value %s as a body', async (body) => {
    expect((await admin.post('/admin/agents', body)).status).toBe(400);
    await expectNothingStored();
  });

  it.each([['text/plain'], ['application/x-www-form-urlencoded'], ['application/xml']])(
    'refuses the content type %s with 415',
    async (contentType) => {
      const response = await admin.call('POST', '/admin/agents', '{"name":"typed"}', {
        'content-type': contentType,
      });
      expectProblem(response, 415, 'unsupported_media_type');
      await expectNothingStored();
    },
  );

  it('refuses a body over 64 KiB with 413', async () => {
    const response = await admin.post('/admin/agents', { name: 'big', description: 'x'.repeat(70 * 1024) });
    expectProblem(response, 413, 'payload_too_large');
    await expectNothingStored();
  });

  it('answers an injection attempt in the path with 404 and changes nothing', async () => {
    const response = await admin.get(path('agents', "x' OR 1=1--"));
    expectProblem(response, 404, 'not_found');
    expectProblem(await admin.delete(path('agents', "'; DROP TABLE agents;--")), 404, 'not_found');
    await expectNothingStored();
  });
});
