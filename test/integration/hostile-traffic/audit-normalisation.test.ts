/**
 * Issue #6 item 2: every decision is audited, and no input keeps a refusal out of the audit log
 * or blows it up. Oversized values are stored capped with a truncation marker; control
 * characters (NUL, which PostgreSQL text cannot store, included) are refused with the RFC error,
 * never a 503, and the refusal's row holds the cleaned value.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAgent, registerResource, uniqueSuffix } from '../../helpers/fixtures.js';
import {
  agentToken,
  auditSince,
  basicAuthorization,
  expectRefusedResponse,
  postToken,
  requestToken,
  snapshot,
  type ExpectedRefusal,
  type Form,
  type Snapshot,
  type TestAgent,
  type TokenResponse,
} from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { adminApi, expectProblem } from '../admin/admin-client.js';
import { introspect, postForm, revoke } from '../introspection-revocation/helpers.js';

/** The cap of a stored request-derived field (domain/audit-field.ts), before its marker. */
const FIELD_CAP = 256;

let server: TestServer;
let basicAgent: TestAgent;
let postAgent: TestAgent;
let resource: string;

beforeAll(async () => {
  server = await startTestServer();
  const suffix = uniqueSuffix();
  resource = `https://api-${suffix}.example/`;
  await registerResource(server, { id: resource, scopes: ['data.read'] });
  basicAgent = await registerAgent(server, {
    id: `an-basic-${suffix}`,
    allowedScopes: ['data.read'],
    allowedAudiences: [resource],
  });
  postAgent = await registerAgent(server, {
    id: `an-post-${suffix}`,
    tokenEndpointAuthMethod: 'client_secret_post',
    allowedScopes: ['data.read'],
    allowedAudiences: [resource],
  });
});

afterAll(async () => {
  await server?.close();
});

/** A refusal as SECURITY-CASES asks (never 503 or a trace, one denied row, nothing issued); its row. */
async function expectAuditedRefusal(before: Snapshot, response: TokenResponse, expected: ExpectedRefusal) {
  await expectRefusedResponse(server, before, response, expected);
  const [row] = await auditSince(server, before);
  return row as NonNullable<typeof row>;
}

/** A valid request right after, as every negative case asks (OIDF pattern). */
async function expectControlSucceeds() {
  await agentToken(server, basicAgent, { audience: resource });
}

describe('oversized values', () => {
  it('stores a 50 KB grant_type of an unauthenticated request capped, with a truncation marker', async () => {
    const before = await snapshot(server);
    const response = await postToken(server, { grant_type: 'g'.repeat(50_000) });
    const row = await expectAuditedRefusal(before, response, {
      status: 401,
      error: 'invalid_client',
      rule: 'client_authentication_failed',
    });
    expect(row.grantType).toBe('g'.repeat(FIELD_CAP) + `…[+${50_000 - FIELD_CAP} chars]`);
    await expectControlSucceeds();
  });

  it('stores a 50 KB grant_type and client_id of a secret guess capped', async () => {
    const before = await snapshot(server);
    const response = await postToken(server, {
      grant_type: 'g'.repeat(20_000),
      client_id: 'c'.repeat(20_000),
      client_secret: 'guess',
    });
    const row = await expectAuditedRefusal(before, response, {
      status: 401,
      error: 'invalid_client',
      rule: 'client_authentication_failed',
    });
    expect(row.grantType?.length).toBeLessThan(FIELD_CAP + 32);
    expect(row.clientId?.length).toBeLessThan(FIELD_CAP + 32);
    expect(row.clientId?.startsWith('c'.repeat(FIELD_CAP) + '…[+')).toBe(true);
    await expectControlSucceeds();
  });

  it('stores the audience of an authenticated request capped', async () => {
    const before = await snapshot(server);
    const response = await requestToken(server, basicAgent, {
      grant_type: 'client_credentials',
      audience: `https://${'a'.repeat(40_000)}.example/`,
    });
    const row = await expectAuditedRefusal(before, response, {
      status: 400,
      error: 'invalid_target',
      rule: 'target_not_registered',
    });
    expect(row.audience?.length).toBeLessThan(FIELD_CAP + 32);
    expect(row.audience).toMatch(/…\[\+\d+ chars\]$/);
  });
});

describe('control characters at the token endpoint', () => {
  it('audits a secret guess against a real agent that carries a NUL in grant_type', async () => {
    const before = await snapshot(server);
    const response = await postToken(
      server,
      { grant_type: 'client_\u0000credentials' },
      { authorization: basicAuthorization(basicAgent.id, 'guessed-secret') },
    );
    const row = await expectAuditedRefusal(before, response, {
      status: 401,
      error: 'invalid_client',
      rule: 'client_authentication_failed',
      basic: true,
    });
    expect(row.clientId).toBe(basicAgent.id);
    expect(row.grantType).toBe('client_\uFFFDcredentials');
    expect(row.description).toMatch(/^client_secret_mismatch: /);
    await expectControlSucceeds();
  });

  it('refuses a NUL in grant_type of an authenticated agent as an unsupported grant type, audited', async () => {
    const before = await snapshot(server);
    const response = await requestToken(server, basicAgent, { grant_type: 'client_credentials\u0000' });
    const row = await expectAuditedRefusal(before, response, {
      status: 400,
      error: 'unsupported_grant_type',
      rule: 'invalid_parameters',
    });
    expect(row.grantType).toBe('client_credentials\uFFFD');
    await expectControlSucceeds();
  });

  it.each<{ name: string; form: Form; status: number; error: string; rule: string }>([
    {
      name: 'a NUL in audience',
      form: { audience: `${'x'}\u0000` },
      status: 400,
      error: 'invalid_request',
      rule: 'invalid_parameters',
    },
    {
      name: 'a LF in resource',
      form: { resource: 'https://api.example/\n' },
      status: 400,
      error: 'invalid_request',
      rule: 'invalid_parameters',
    },
    {
      name: 'a NUL in scope',
      form: { scope: 'data.read\u0000' },
      status: 400,
      error: 'invalid_scope',
      rule: 'invalid_parameters',
    },
  ])('refuses $name with the RFC error, audited', async ({ form, status, error, rule }) => {
    const before = await snapshot(server);
    const response = await requestToken(server, basicAgent, { grant_type: 'client_credentials', ...form });
    const row = await expectAuditedRefusal(before, response, { status, error, rule });
    expect(row.clientId).toBe(basicAgent.id);
    for (const value of [row.audience, row.requestedScope, row.description]) {
      expect(value ?? '').not.toMatch(/\p{Cc}/u);
    }
    await expectControlSucceeds();
  });

  it('refuses a NUL in client_secret with invalid_client, audited', async () => {
    const before = await snapshot(server);
    const response = await postToken(server, {
      grant_type: 'client_credentials',
      client_id: postAgent.id,
      client_secret: `${postAgent.clientSecret ?? ''}\u0000`,
    });
    const row = await expectAuditedRefusal(before, response, {
      status: 401,
      error: 'invalid_client',
      rule: 'client_authentication_failed',
    });
    expect(row.clientId).toBe(postAgent.id);
    await expectControlSucceeds();
  });

  it('refuses a NUL in the Basic user name with invalid_request, audited', async () => {
    const before = await snapshot(server);
    const response = await postToken(
      server,
      { grant_type: 'client_credentials' },
      { authorization: basicAuthorization(`${basicAgent.id}\u0000`, basicAgent.clientSecret ?? '') },
    );
    const row = await expectAuditedRefusal(before, response, {
      status: 400,
      error: 'invalid_request',
      rule: 'invalid_parameters',
    });
    expect(row.clientId).toBe(`${basicAgent.id}\uFFFD`);
    await expectControlSucceeds();
  });
});

/** Where each endpoint's refusals say they happened, after the reason (none at the token endpoint). */
const AT: Readonly<Record<string, string>> = {
  '/token': '',
  '/token/introspection': ' (at /token/introspection)',
  '/token/revocation': ' (at /token/revocation)',
};

describe.each(['/token', '/token/introspection', '/token/revocation'] as const)('%s', (endpoint) => {
  it('refuses a NUL in client_id with invalid_client, not 503, and audits it', async () => {
    const before = await snapshot(server);
    const form = {
      client_id: `${postAgent.id}\u0000`,
      client_secret: postAgent.clientSecret ?? '',
    };
    const response =
      endpoint === '/token'
        ? await postToken(server, { grant_type: 'client_credentials', ...form })
        : await postForm(server, endpoint, { token: 'not-a-token', ...form });
    const row = await expectAuditedRefusal(before, response, {
      status: 401,
      error: 'invalid_client',
      rule: 'client_authentication_failed',
    });
    expect(row.clientId).toBe(`${postAgent.id}\uFFFD`);
    expect(row.description).toBe(
      `client_id_malformed: client_id contains a control character${AT[endpoint]}`,
    );
    await expectControlSucceeds();
  });
});

describe.each(['/token/introspection', '/token/revocation'] as const)('%s', (endpoint) => {
  it('audits a failed authentication: the claimed client and the precise reason', async () => {
    const before = await snapshot(server);
    const response = await postForm(
      server,
      endpoint,
      { token: 'not-a-token' },
      { authorization: basicAuthorization(basicAgent.id, 'guessed-secret') },
    );
    const row = await expectAuditedRefusal(before, response, {
      status: 401,
      error: 'invalid_client',
      rule: 'client_authentication_failed',
      basic: true,
    });
    expect(row.clientId).toBe(basicAgent.id);
    expect(row.description).toBe(`client_secret_mismatch: invalid secret provided${AT[endpoint]}`);
  });

  it('audits a malformed authentication (invalid_request)', async () => {
    const before = await snapshot(server);
    const response = await postForm(
      server,
      endpoint,
      { token: 'not-a-token' },
      { authorization: basicAuthorization(`${basicAgent.id}\u0000`, 'secret') },
    );
    const row = await expectAuditedRefusal(before, response, {
      status: 400,
      error: 'invalid_request',
      rule: 'invalid_parameters',
    });
    expect(row.clientId).toBe(`${basicAgent.id}\uFFFD`);
  });

  it('refuses a NUL in token with invalid_request once the caller is authenticated, audited', async () => {
    const { token } = await agentToken(server, basicAgent, { audience: resource });
    const before = await snapshot(server);
    const send = endpoint === '/token/introspection' ? introspect : revoke;
    const response = await send(server, basicAgent, `${token}\u0000`);
    const row = await expectAuditedRefusal(before, response, {
      status: 400,
      error: 'invalid_request',
      rule: 'invalid_parameters',
    });
    expect(row.clientId).toBe(basicAgent.id);
    expect(row.description).toBe(`token contains a control character${AT[endpoint]}`);
    // Nothing was revoked: the token is still live.
    const check = await introspect(server, basicAgent, token);
    expect(check.body.active).toBe(true);
  });
});

describe('the admin API', () => {
  it.each([
    { name: 'an agent name', path: '/admin/agents', body: { name: 'a\u0000b' }, pointer: '/name' },
    {
      name: 'an agent description',
      path: '/admin/agents',
      body: { name: 'ok', description: 'x\u0000' },
      pointer: '/description',
    },
    {
      name: 'a JWK member (stored as jsonb)',
      path: '/admin/agents',
      body: {
        name: 'ok',
        tokenEndpointAuthMethod: 'private_key_jwt',
        jwks: { keys: [{ kty: 'EC', x: '\u0000' }] },
      },
      pointer: '/jwks/keys/0/x',
    },
    {
      name: 'a resource name',
      path: '/admin/resources',
      body: { id: 'https://r.example/', name: 'r\u0000', scopes: ['a'] },
      pointer: '/name',
    },
  ])(
    'refuses a NUL in $name with a 400 problem document, not 500, and stores nothing',
    async ({ path, body, pointer }) => {
      const prisma = server.database.prisma;
      const [agents, resources, events] = await Promise.all([
        prisma.agent.count(),
        prisma.resource.count(),
        prisma.adminEvent.count(),
      ]);
      const response = await adminApi(server).post(path, body);
      expectProblem(response, 400, 'validation_failed');
      expect(response.body).toMatchObject({ errors: [{ path: pointer }] });
      expect(await prisma.agent.count()).toBe(agents);
      expect(await prisma.resource.count()).toBe(resources);
      expect(await prisma.adminEvent.count()).toBe(events);
    },
  );

  it('refuses a NUL in an audit filter with a 400 problem document', async () => {
    const response = await adminApi(server).get('/admin/audit?agent=a%00b');
    expectProblem(response, 400, 'validation_failed');
    expect(response.body).toMatchObject({ errors: [{ path: '/agent' }] });
  });
});
