/**
 * Introspection (RFC 7662, CONTRACT §3.4) over real HTTP: who may see a token, what an active
 * answer carries, every way a token is inactive, and client authentication exactly as at the
 * token endpoint (secrets, `private_key_jwt`, one-time assertion `jti` shared with /token).
 */
import { generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disableAgent, registerAgent } from '../../helpers/fixtures.js';
import {
  agentToken,
  basicAuthorization,
  CLIENT_ASSERTION_TYPE,
  clientAssertion,
  decodeJwt,
  exchange,
  postToken,
  type AssertionOptions,
} from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { mintServiceToken } from '../admin/admin-client.js';
import {
  buildChain,
  createWorld,
  expectOAuthError,
  introspect,
  isActive,
  postForm,
  SCOPE,
  type Chain,
  type World,
} from './helpers.js';

let server: TestServer;
let world: World;
let chain: Chain;

beforeAll(async () => {
  server = await startTestServer();
  world = await createWorld(server);
  chain = await buildChain(server, world);
});

afterAll(async () => {
  await server?.close();
});

describe('discovery', () => {
  it('publishes both endpoints and their client authentication methods', async () => {
    for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
      const metadata = (await (await fetch(server.baseUrl + path)).json()) as Record<string, unknown>;
      expect(metadata).toMatchObject({
        introspection_endpoint: `${server.baseUrl}/token/introspection`,
        revocation_endpoint: `${server.baseUrl}/token/revocation`,
        introspection_endpoint_auth_methods_supported: [
          'client_secret_basic',
          'client_secret_post',
          'private_key_jwt',
        ],
        revocation_endpoint_auth_methods_supported: [
          'client_secret_basic',
          'client_secret_post',
          'private_key_jwt',
        ],
      });
    }
  });
});

describe('who may see a token', () => {
  it('answers with every claim for the last actor (client_id)', async () => {
    const response = await introspect(server, world.c, chain.hop3);
    expect(response.status, response.text).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const claims = decodeJwt(chain.hop3);
    expect(response.body).toEqual({
      active: true,
      iss: server.baseUrl,
      sub: 'alice',
      aud: world.resource,
      scope: SCOPE,
      client_id: world.c.id,
      act: { sub: world.c.id, act: { sub: world.b.id, act: { sub: world.a.id } } },
      txn: chain.txn,
      iat: claims.iat,
      exp: claims.exp,
      jti: chain.jtis[2],
      token_type: 'Bearer',
      depth: 3,
    });
  });

  it('is active for the agent the token was issued to (aud)', async () => {
    const response = await introspect(server, world.b, chain.hop1);
    expect(response.body).toMatchObject({ active: true, aud: world.b.id, client_id: world.a.id, depth: 1 });
  });

  it('is active for an agent earlier in the chain', async () => {
    expect(await isActive(server, world.a, chain.hop3)).toBe(true);
    expect(await isActive(server, world.b, chain.hop3)).toBe(true);
  });

  it("is active for an agent's own client_credentials token", async () => {
    const own = await agentToken(server, world.a, { audience: world.resource });
    const response = await introspect(server, world.a, own.token);
    expect(response.body).toMatchObject({
      active: true,
      sub: world.a.id,
      client_id: world.a.id,
      depth: 0,
      txn: own.claims.txn,
    });
    expect(response.body).not.toHaveProperty('act');
  });

  it("answers inactive for someone else's token, and says nothing more", async () => {
    expect(await isActive(server, world.stranger, chain.hop3)).toBe(false);
    expect(await isActive(server, world.c, chain.hop1)).toBe(false);
    const own = await agentToken(server, world.a, { audience: world.resource });
    expect(await isActive(server, world.stranger, own.token)).toBe(false);
  });
});

describe('inactive tokens', () => {
  it.each([
    ['garbage', 'not-a-token'],
    ['an empty-looking JWT', 'e30.e30.e30'],
    ['an unsigned JWT', `${Buffer.from('{"alg":"none"}').toString('base64url')}.e30.`],
  ])('answers inactive for %s', async (_name, token) => {
    expect(await isActive(server, world.a, token)).toBe(false);
  });

  it("answers inactive for a trusted issuer's token: only this service's tokens are introspected", async () => {
    expect(await isActive(server, world.a, chain.user)).toBe(false);
  });

  it('answers inactive for a token signed with a foreign key that claims this issuer', async () => {
    const forged = await world.idp.sign({
      iss: server.baseUrl,
      sub: 'alice',
      aud: world.a.id,
      client_id: world.a.id,
      scope: SCOPE,
      txn: chain.txn,
      jti: chain.jtis[0],
    });
    expect(await isActive(server, world.a, forged)).toBe(false);
  });

  it('answers inactive for a well-signed token that lineage never recorded', async () => {
    const { token } = await mintServiceToken(server, {
      clientId: world.a.id,
      aud: world.resource,
      scope: SCOPE,
      record: false,
    });
    expect(await isActive(server, world.a, token)).toBe(false);
  });

  it('answers inactive once the token has expired', async () => {
    const shortLived = await registerAgent(server, {
      id: `ir-short-${world.suffix}`,
      allowedScopes: [SCOPE],
      allowedAudiences: [world.resource],
      tokenTtlSeconds: 1,
    });
    const { token } = await agentToken(server, shortLived, { audience: world.resource });
    expect(await isActive(server, shortLived, token)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    expect(await isActive(server, shortLived, token)).toBe(false);
  });

  it('answers inactive while an agent in the chain is disabled (CONTRACT §3.4)', async () => {
    const own = await buildChain(server, world, 'bob');
    const x = await registerAgent(server, {
      id: `ir-x-${world.suffix}`,
      allowedScopes: [SCOPE],
      allowedAudiences: [world.a.id],
    });
    const xToken = await agentToken(server, x, { audience: world.a.id });
    const derived = await exchange(server, world.a, {
      subject_token: xToken.token,
      audience: world.resource,
    });
    expect(await isActive(server, world.a, derived.token)).toBe(true);
    await disableAgent(server, x.id);
    // x started the chain; a chain holding a disabled agent is dead for everyone.
    expect(await isActive(server, world.a, derived.token)).toBe(false);
    expect(await isActive(server, world.a, own.hop3)).toBe(true);
  });
});

describe('request handling', () => {
  it('requires the token parameter (invalid_request)', async () => {
    const response = await postForm(
      server,
      '/token/introspection',
      {},
      { authorization: basicAuthorization(world.a.id, world.a.clientSecret ?? '') },
    );
    expectOAuthError(response, 400, 'invalid_request');
  });

  it('refuses a repeated token parameter', async () => {
    const response = await introspect(server, world.a, chain.hop3, { token: [chain.hop3, chain.hop2] });
    expectOAuthError(response, 400, 'invalid_request');
  });

  it('accepts and ignores a token_type_hint', async () => {
    const response = await introspect(server, world.c, chain.hop3, { token_type_hint: 'refresh_token' });
    expect(response.body.active).toBe(true);
  });

  it('refuses a JSON body with an OAuth error, not a problem document', async () => {
    const response = await fetch(`${server.baseUrl}/token/introspection`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: basicAuthorization(world.a.id, world.a.clientSecret ?? ''),
      },
      body: JSON.stringify({ token: chain.hop3 }),
    });
    const text = await response.text();
    expectOAuthError(
      { status: response.status, headers: response.headers, body: JSON.parse(text), text },
      400,
      'invalid_request',
    );
  });
});

describe('client authentication (as at the token endpoint)', () => {
  const IC = [401, 'invalid_client'] as const;
  const IR = [400, 'invalid_request'] as const;

  it('authenticates with client_secret_basic, client_secret_post and private_key_jwt', async () => {
    expect(await isActive(server, world.a, chain.hop3)).toBe(true); // basic
    expect(await isActive(server, world.c, chain.hop3)).toBe(true); // post
    const own = await agentToken(server, world.keyAgent, { audience: world.resource });
    expect(await isActive(server, world.keyAgent, own.token)).toBe(true);
  });

  it('refuses a request with no client authentication (invalid_client)', async () => {
    expectOAuthError(await postForm(server, '/token/introspection', { token: chain.hop3 }), ...IC);
  });

  it('refuses a wrong secret over Basic, with WWW-Authenticate: Basic', async () => {
    const response = await postForm(
      server,
      '/token/introspection',
      { token: chain.hop3 },
      { authorization: basicAuthorization(world.a.id, 'wrong-secret') },
    );
    expectOAuthError(response, ...IC);
    expect(response.headers.get('www-authenticate')).toMatch(/^Basic /);
  });

  it('refuses a wrong secret, or a client_id alone, in the body', async () => {
    for (const form of [
      { client_id: world.c.id, client_secret: 'wrong-secret' } as Record<string, string>,
      { client_id: world.c.id },
      { client_id: world.keyAgent.id, client_secret: '' },
    ]) {
      expectOAuthError(await postForm(server, '/token/introspection', { ...form, token: chain.hop3 }), ...IC);
    }
  });

  it('refuses an unknown client and a secret for a private_key_jwt agent', async () => {
    for (const [id, secret] of [
      ['no-such-agent', 'secret'],
      [world.keyAgent.id, world.a.clientSecret ?? ''],
    ] as const) {
      const response = await postForm(
        server,
        '/token/introspection',
        { token: chain.hop3 },
        { authorization: basicAuthorization(id, secret) },
      );
      expectOAuthError(response, ...IC);
    }
  });

  it('refuses a secret presented by the other secret method than the one registered', async () => {
    // A is registered for client_secret_basic, C for client_secret_post.
    const post = await postForm(server, '/token/introspection', {
      token: chain.hop3,
      client_id: world.a.id,
      client_secret: world.a.clientSecret ?? '',
    });
    expectOAuthError(post, ...IC);
    const basic = await postForm(
      server,
      '/token/introspection',
      { token: chain.hop3 },
      { authorization: basicAuthorization(world.c.id, world.c.clientSecret ?? '') },
    );
    expectOAuthError(basic, ...IC);
    expect(basic.headers.get('www-authenticate')).toMatch(/^Basic /);
  });

  it('refuses a disabled agent with valid credentials', async () => {
    const agent = await registerAgent(server, {
      id: `ir-off-${world.suffix}`,
      allowedScopes: [SCOPE],
      allowedAudiences: [world.resource],
    });
    const { token } = await agentToken(server, agent, { audience: world.resource });
    expect(await isActive(server, agent, token)).toBe(true);
    await disableAgent(server, agent.id);
    const response = await introspect(server, agent, token);
    expectOAuthError(response, ...IC);
  });

  it.each([
    ['Basic and a body secret', { client_id: 'x', client_secret: 'y' }, true],
    ['a malformed Basic header', {}, 'Basic %%%%'],
    ['a Basic header without a colon', {}, 'Basic ' + Buffer.from('just-an-id').toString('base64')],
    ['a Basic id that differs from the body client_id', { client_id: 'someone-else' }, true],
  ] as const)('refuses %s (invalid_request)', async (_name, form, header) => {
    const authorization =
      header === true ? basicAuthorization(world.a.id, world.a.clientSecret ?? '') : (header as string);
    const response = await postForm(
      server,
      '/token/introspection',
      { ...form, token: chain.hop3 },
      { authorization },
    );
    expectOAuthError(response, ...IR);
  });

  describe('private_key_jwt', () => {
    async function withAssertion(options: AssertionOptions = {}) {
      const own = await agentToken(server, world.keyAgent, { audience: world.resource });
      return postForm(server, '/token/introspection', {
        token: own.token,
        client_assertion_type: CLIENT_ASSERTION_TYPE,
        client_assertion: await clientAssertion(server, world.keyAgent, options),
      });
    }

    it('refuses an assertion used twice (replay)', async () => {
      const own = await agentToken(server, world.keyAgent, { audience: world.resource });
      const assertion = await clientAssertion(server, world.keyAgent);
      const form = {
        token: own.token,
        client_assertion_type: CLIENT_ASSERTION_TYPE,
        client_assertion: assertion,
      };
      const first = await postForm(server, '/token/introspection', form);
      expect(first.body.active, first.text).toBe(true);
      expectOAuthError(await postForm(server, '/token/introspection', form), ...IC);
      expectOAuthError(await postForm(server, '/token/revocation', form), ...IC);
    });

    it('refuses an assertion already spent at the token endpoint', async () => {
      const assertion = await clientAssertion(server, world.keyAgent);
      const issued = await postToken(server, {
        grant_type: 'client_credentials',
        audience: world.resource,
        client_assertion_type: CLIENT_ASSERTION_TYPE,
        client_assertion: assertion,
      });
      expect(issued.status, issued.text).toBe(200);
      const response = await postForm(server, '/token/introspection', {
        token: issued.body.access_token as string,
        client_assertion_type: CLIENT_ASSERTION_TYPE,
        client_assertion: assertion,
      });
      expectOAuthError(response, ...IC);
    });

    it('and an assertion spent here cannot be used at the token endpoint', async () => {
      const assertion = await clientAssertion(server, world.keyAgent);
      const own = await agentToken(server, world.keyAgent, { audience: world.resource });
      const first = await postForm(server, '/token/introspection', {
        token: own.token,
        client_assertion_type: CLIENT_ASSERTION_TYPE,
        client_assertion: assertion,
      });
      expect(first.body.active, first.text).toBe(true);
      const issued = await postToken(server, {
        grant_type: 'client_credentials',
        audience: world.resource,
        client_assertion_type: CLIENT_ASSERTION_TYPE,
        client_assertion: assertion,
      });
      expect(issued.status, issued.text).toBe(401);
      expect(issued.body.error).toBe('invalid_client');
    });

    it.each<[string, AssertionOptions]>([
      ['aud is another server', { claims: { aud: 'https://elsewhere.example' } }],
      ['exp is missing', { claims: { exp: undefined } }],
      ['the lifetime exceeds five minutes', { claims: { exp: Math.floor(Date.now() / 1000) + 600 } }],
      ['iat is an hour in the future', { claims: { iat: Math.floor(Date.now() / 1000) + 3600 } }],
      ['iss is another agent', { claims: { iss: 'some-other-agent' } }],
      ['jti is missing', { claims: { jti: undefined } }],
      ['typ is at+jwt', { header: { typ: 'at+jwt' } }],
      ['typ is dpop+jwt', { header: { typ: 'dpop+jwt' } }],
    ])('refuses an assertion whose %s', async (_name, options) => {
      expectOAuthError(await withAssertion(options), ...IC);
    });

    it('refuses HS256 keyed with the public key, and a key that is not registered', async () => {
      const secret = new TextEncoder().encode('a-symmetric-secret-of-sufficient-length!');
      expectOAuthError(await withAssertion({ alg: 'HS256', key: secret }), ...IC);
      const { privateKey } = await generateKeyPair('ES256');
      expectOAuthError(await withAssertion({ key: privateKey }), ...IC);
    });

    it('refuses a missing or wrong client_assertion_type (invalid_request)', async () => {
      const assertion = await clientAssertion(server, world.keyAgent);
      expectOAuthError(
        await postForm(server, '/token/introspection', { token: chain.hop3, client_assertion: assertion }),
        ...IR,
      );
      expectOAuthError(
        await postForm(server, '/token/introspection', {
          token: chain.hop3,
          client_assertion: assertion,
          client_assertion_type: 'urn:example:wrong',
        }),
        ...IR,
      );
    });

    it('accepts a fresh assertion after all these refusals', async () => {
      const response = await withAssertion();
      expect(response.body.active, response.text).toBe(true);
    });
  });
});
