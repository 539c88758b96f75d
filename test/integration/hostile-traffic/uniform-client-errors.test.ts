/**
 * Issue #6 item 3: one answer for every failed client authentication, at every endpoint that
 * authenticates clients, so an anonymous caller cannot tell whether an agent id exists, is
 * enabled, or which method it uses; the audit row names the precise reason instead.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteAgent, disableAgent, registerAgent, uniqueSuffix } from '../../helpers/fixtures.js';
import {
  auditSince,
  basicAuthorization,
  CLIENT_ASSERTION_TYPE,
  clientAssertion,
  generateSigningKey,
  postToken,
  snapshot,
  type AssertionOptions,
  type Form,
  type TestAgent,
  type TokenResponse,
} from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { postForm } from '../introspection-revocation/helpers.js';

type Endpoint = '/token' | '/token/introspection' | '/token/revocation';
const ENDPOINTS: readonly Endpoint[] = ['/token', '/token/introspection', '/token/revocation'];

/** What each endpoint needs beside client authentication. */
const ENDPOINT_FORM: Readonly<Record<Endpoint, Form>> = {
  '/token': { grant_type: 'client_credentials' },
  '/token/introspection': { token: 'not-a-token' },
  '/token/revocation': { token: 'not-a-token' },
};

const UNIFORM_BODY = { error: 'invalid_client', error_description: 'client authentication failed' };

let server: TestServer;
let basicAgent: TestAgent;
let keyAgent: TestAgent;
let disabledAgent: TestAgent;
let deletedAgent: TestAgent;
/** A key registered nowhere, signing under the key agent's kid. */
let foreignKey: Awaited<ReturnType<typeof generateSigningKey>>;

beforeAll(async () => {
  server = await startTestServer();
  const suffix = uniqueSuffix();
  basicAgent = await registerAgent(server, { id: `uc-basic-${suffix}` });
  const key = await generateSigningKey();
  keyAgent = {
    ...(await registerAgent(server, {
      id: `uc-key-${suffix}`,
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwks: { keys: [key.publicJwk] },
    })),
    privateKey: key.privateKey,
    kid: key.kid,
  };
  disabledAgent = await registerAgent(server, { id: `uc-disabled-${suffix}` });
  await disableAgent(server, disabledAgent.id);
  deletedAgent = await registerAgent(server, { id: `uc-deleted-${suffix}` });
  await deleteAgent(server, deletedAgent.id);
  foreignKey = await generateSigningKey();
});

afterAll(async () => {
  await server?.close();
});

interface Attempt {
  /** The request parts that authenticate (or fail to). */
  readonly headers: Record<string, string>;
  readonly fields: Record<string, string>;
}

function basic(id: string, secret: string): Attempt {
  return { headers: { authorization: basicAuthorization(id, secret) }, fields: {} };
}

async function assertion(options: AssertionOptions): Promise<Attempt> {
  return {
    headers: {},
    fields: {
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: await clientAssertion(server, keyAgent, options),
    },
  };
}

interface Case {
  readonly name: string;
  /** The stable reason code the audit row must start with. */
  readonly reason: string;
  readonly clientId: () => string;
  readonly attempt: () => Promise<Attempt>;
}

const CASES: readonly Case[] = [
  {
    name: 'an unknown client',
    reason: 'client_unknown',
    clientId: () => 'uc-no-such-agent',
    attempt: () => Promise.resolve(basic('uc-no-such-agent', 'some-secret')),
  },
  {
    name: 'a disabled agent with its valid secret',
    reason: 'client_disabled',
    clientId: () => disabledAgent.id,
    attempt: () => Promise.resolve(basic(disabledAgent.id, disabledAgent.clientSecret ?? '')),
  },
  {
    name: 'a deleted agent with its last valid secret',
    reason: 'client_deleted',
    clientId: () => deletedAgent.id,
    attempt: () => Promise.resolve(basic(deletedAgent.id, deletedAgent.clientSecret ?? '')),
  },
  {
    name: 'a wrong secret',
    reason: 'client_secret_mismatch',
    clientId: () => basicAgent.id,
    attempt: () => Promise.resolve(basic(basicAgent.id, 'wrong-secret')),
  },
  {
    name: 'a secret for an agent registered for private_key_jwt',
    reason: 'auth_method_mismatch',
    clientId: () => keyAgent.id,
    attempt: () => Promise.resolve(basic(keyAgent.id, basicAgent.clientSecret ?? '')),
  },
  {
    name: 'a Basic agent presenting its secret in the body',
    reason: 'auth_method_mismatch',
    clientId: () => basicAgent.id,
    attempt: () =>
      Promise.resolve({
        headers: {},
        fields: { client_id: basicAgent.id, client_secret: basicAgent.clientSecret ?? '' },
      }),
  },
  {
    name: 'an assertion addressed to the token endpoint URL instead of the issuer',
    reason: 'client_assertion_audience',
    clientId: () => keyAgent.id,
    attempt: () => assertion({ claims: { aud: `${server.baseUrl}/token` } }),
  },
  {
    name: 'an expired assertion',
    reason: 'client_assertion_expired',
    clientId: () => keyAgent.id,
    attempt: () => {
      const now = Math.floor(Date.now() / 1000);
      return assertion({ claims: { iat: now - 200, exp: now - 100 } });
    },
  },
  {
    name: 'an assertion signed by a key the agent never registered',
    reason: 'client_assertion_signature',
    clientId: () => keyAgent.id,
    attempt: () => assertion({ key: foreignKey.privateKey }),
  },
];

async function send(endpoint: Endpoint, attempt: Attempt): Promise<TokenResponse> {
  const form = { ...ENDPOINT_FORM[endpoint], ...attempt.fields };
  return endpoint === '/token'
    ? postToken(server, form, attempt.headers)
    : postForm(server, endpoint, form, attempt.headers);
}

describe.each(ENDPOINTS)('%s', (endpoint) => {
  it.each(CASES)('answers $name like every other failure, and audits the reason', async (testCase) => {
    const before = await snapshot(server);
    const attempt = await testCase.attempt();
    const response = await send(endpoint, attempt);

    expect(response.status, response.text).toBe(401);
    expect(response.body).toEqual(UNIFORM_BODY);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const challenge = response.headers.get('www-authenticate');
    if (attempt.headers.authorization) {
      expect(challenge).toBe(
        `Basic realm="${server.baseUrl}", error="invalid_client", error_description="client authentication failed"`,
      );
    } else {
      expect(challenge).toBeNull();
    }

    const rows = await auditSince(server, before);
    expect(rows).toHaveLength(1);
    const [row] = rows;
    expect(row).toMatchObject({
      decision: 'denied',
      rule: 'client_authentication_failed',
      clientId: testCase.clientId(),
    });
    expect(row?.description).toMatch(new RegExp(`^${testCase.reason}: \\S`));
    expect(await server.database.prisma.issuedToken.count(), 'nothing issued').toBe(before.issuedTokens);
  });
});

it('gives the same reason for the same failure at every endpoint', async () => {
  const reasons = new Map<Endpoint, string[]>();
  for (const endpoint of ENDPOINTS) {
    const found: string[] = [];
    for (const testCase of CASES) {
      const before = await snapshot(server);
      await send(endpoint, await testCase.attempt());
      const [row] = await auditSince(server, before);
      found.push(row?.description?.split(':')[0] ?? '');
    }
    reasons.set(endpoint, found);
  }
  expect(reasons.get('/token/introspection')).toEqual(reasons.get('/token'));
  expect(reasons.get('/token/revocation')).toEqual(reasons.get('/token'));
  expect(reasons.get('/token')).toEqual(CASES.map((testCase) => testCase.reason));
});

it('lets operators read the reason through GET /admin/audit', async () => {
  const agent = `uc-audit-${randomUUID()}`;
  await send('/token/introspection', basic(agent, 'secret'));
  const response = await fetch(`${server.baseUrl}/admin/audit?agent=${encodeURIComponent(agent)}`, {
    headers: { authorization: `Bearer ${server.adminToken}` },
  });
  expect(response.status).toBe(200);
  const page = (await response.json()) as { items: Record<string, unknown>[] };
  expect(page.items).toHaveLength(1);
  expect(page.items[0]).toMatchObject({
    decision: 'denied',
    rule: 'client_authentication_failed',
    clientId: agent,
    description: 'client_unknown: client not found (at /token/introspection)',
  });
});
