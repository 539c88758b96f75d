/**
 * AgentStsClient against a running agent-sts: discovery; client_credentials with each client
 * authentication method (the private_key_jwt assertion as RFC 10070 shapes it); DPoP-bound tokens
 * presented to a resource with fresh proofs; token exchange served from the cache when asked the
 * same again (and not for another scope); OAuth refusals as OAuthError with the server's words.
 */
import { generateKeyPair, decodeJwt, decodeProtectedHeader, calculateJwkThumbprint, exportJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AgentStsClient,
  AgentStsClientError,
  OAuthError,
  type AgentStsClientOptions,
  type DpopKeyPair,
} from '../../../src/sdk/agent/index.js';
import {
  AgentTokenError,
  createAgentStsKeySet,
  createMemoryReplayStore,
  verifyAgentToken,
} from '../../../src/sdk/resource-server/index.js';
import { registerAgent } from '../../helpers/fixtures.js';
import { type TestAgent } from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { registerKeyAgent, registerWorld, SCOPES } from './helpers.js';

let server: TestServer;
let world: Awaited<ReturnType<typeof registerWorld>>;

interface Recorded {
  readonly url: string;
  readonly headers: Headers;
  readonly form: URLSearchParams;
}

/** A fetch that records every token request it sends. */
function recordingFetch(): { fetch: typeof fetch; tokenRequests: Recorded[] } {
  const tokenRequests: Recorded[] = [];
  const recording: typeof fetch = async (input, init) => {
    const url = String(input);
    if (init?.method === 'POST') {
      tokenRequests.push({
        url,
        headers: new Headers(init.headers),
        form: new URLSearchParams(String(init.body)),
      });
    }
    return fetch(input, init);
  };
  return { fetch: recording, tokenRequests };
}

function secretClient(agent: TestAgent, extra: Partial<AgentStsClientOptions> = {}) {
  const method = agent.tokenEndpointAuthMethod as 'client_secret_basic' | 'client_secret_post';
  return new AgentStsClient({
    issuer: server.config.issuer,
    clientId: agent.id,
    authentication: { method, clientSecret: agent.clientSecret ?? '' },
    ...extra,
  });
}

function verifyForCalendar(token: string) {
  return verifyAgentToken(token, {
    issuer: server.config.issuer,
    audience: world.calendar,
    keys: createAgentStsKeySet({ issuer: server.config.issuer }),
  });
}

beforeAll(async () => {
  server = await startTestServer();
  world = await registerWorld(server);
});

afterAll(async () => {
  await server?.close();
});

describe('discovery', () => {
  it('reads the metadata of the issuer', async () => {
    const metadata = await secretClient(world.agentA).metadata();
    expect(metadata.issuer).toBe(server.config.issuer);
    expect(metadata.token_endpoint).toBe(`${server.config.issuer}/token`);
  });

  it('refuses metadata that names another issuer', async () => {
    const client = new AgentStsClient({
      issuer: `${server.config.issuer}/elsewhere`,
      clientId: world.ids.a,
      authentication: { method: 'client_secret_basic', clientSecret: 'x' },
    });
    await expect(client.clientCredentials()).rejects.toMatchObject({ code: 'discovery_failed' });
  });
});

describe('clientCredentials', () => {
  it('authenticates with client_secret_basic', async () => {
    const { fetch, tokenRequests } = recordingFetch();
    const tokens = await secretClient(world.agentA, { fetch }).clientCredentials({
      audience: world.calendar,
      scope: ['calendar.read'],
    });
    expect(tokens).toMatchObject({ tokenType: 'Bearer', scopes: ['calendar.read'] });
    expect(tokens.expiresAt.getTime()).toBeGreaterThan(Date.now());
    expect(await verifyForCalendar(tokens.accessToken)).toMatchObject({ subject: world.ids.a, actors: [] });
    expect(tokenRequests[0]?.headers.get('authorization')).toMatch(/^Basic /);
    expect(tokenRequests[0]?.form.has('client_secret')).toBe(false);
  });

  it('authenticates with client_secret_post', async () => {
    const agent = await registerAgent(server, {
      id: `post-${world.ids.a}`,
      tokenEndpointAuthMethod: 'client_secret_post',
      allowedScopes: SCOPES,
      allowedAudiences: [world.calendar],
    });
    const { fetch, tokenRequests } = recordingFetch();
    const tokens = await secretClient(agent, { fetch }).clientCredentials({ audience: world.calendar });
    expect(await verifyForCalendar(tokens.accessToken)).toMatchObject({ subject: agent.id });
    expect(tokenRequests[0]?.headers.get('authorization')).toBeNull();
    expect(tokenRequests[0]?.form.get('client_secret')).toBe(agent.clientSecret);
  });

  it('authenticates with private_key_jwt, an RFC 10070 assertion each time', async () => {
    const { id, privateKey, kid } = await registerKeyAgent(server, `pkjwt-${world.ids.a}`, [world.calendar]);
    const { fetch, tokenRequests } = recordingFetch();
    const client = new AgentStsClient({
      issuer: server.config.issuer,
      clientId: id,
      authentication: { method: 'private_key_jwt', privateKey, kid },
      fetch,
    });
    await client.clientCredentials({ audience: world.calendar, scope: 'calendar.read' });
    await client.clientCredentials({ audience: world.calendar, scope: 'calendar.write' });
    const assertions = tokenRequests.map((request) => String(request.form.get('client_assertion')));
    expect(assertions).toHaveLength(2);
    for (const assertion of assertions) {
      expect(decodeProtectedHeader(assertion)).toMatchObject({
        alg: 'ES256',
        kid,
        typ: 'client-authentication+jwt',
      });
      const claims = decodeJwt(assertion);
      expect(claims).toMatchObject({ iss: id, sub: id, aud: server.config.issuer });
      expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(60);
    }
    expect(decodeJwt(assertions[0]!).jti).not.toBe(decodeJwt(assertions[1]!).jti);
  });
});

describe('DPoP', () => {
  let dpopKey: DpopKeyPair;
  let client: AgentStsClient;

  beforeAll(async () => {
    dpopKey = await generateKeyPair('ES256');
    client = secretClient(world.agentA, { dpopKey });
  });

  it('gets a token bound to its key, refused as Bearer and accepted with the proof it builds', async () => {
    const tokens = await client.clientCredentials({ audience: world.calendar });
    expect(tokens.tokenType).toBe('DPoP');
    const jkt = await calculateJwkThumbprint(await exportJWK(dpopKey.publicKey));
    expect(decodeJwt(tokens.accessToken).cnf).toEqual({ jkt });

    const url = `${world.calendar}/events?day=today`;
    const headers = await client.authorizationHeaders(tokens, { method: 'GET', url });
    expect(headers.authorization).toBe(`DPoP ${tokens.accessToken}`);
    const options = {
      issuer: server.config.issuer,
      audience: world.calendar,
      keys: createAgentStsKeySet({ issuer: server.config.issuer }),
      dpop: { replayStore: createMemoryReplayStore() },
    };
    const asBearer = await verifyAgentToken(tokens.accessToken, options).catch((error: unknown) => error);
    expect(asBearer).toBeInstanceOf(AgentTokenError);
    expect(asBearer).toMatchObject({ code: 'dpop_proof_required' });
    const request = { scheme: 'DPoP' as const, dpopProof: headers.dpop, method: 'GET', url };
    await expect(verifyAgentToken(tokens.accessToken, { ...options, request })).resolves.toMatchObject({
      binding: { method: 'dpop', jkt },
    });
  });
});

describe('exchange', () => {
  it('gets a token for the next hop, and serves the same request again from its cache', async () => {
    const subjectToken = (await secretClient(world.agentA).clientCredentials({ audience: world.ids.b }))
      .accessToken;
    const { fetch, tokenRequests } = recordingFetch();
    const agentB = secretClient(world.agentB, { fetch });

    const first = await agentB.exchange({
      subjectToken,
      audience: world.calendar,
      scope: 'calendar.read calendar.write',
    });
    expect(first.issuedTokenType).toBe('urn:ietf:params:oauth:token-type:access_token');
    expect(await verifyForCalendar(first.accessToken)).toMatchObject({
      subject: world.ids.a,
      clientId: world.ids.b,
      actors: [{ subject: world.ids.b }],
    });
    const again = await agentB.exchange({
      subjectToken,
      audience: world.calendar,
      scope: ['calendar.write', 'calendar.read'],
    });
    expect(again.accessToken).toBe(first.accessToken);
    expect(tokenRequests).toHaveLength(1);

    const narrower = await agentB.exchange({
      subjectToken,
      audience: world.calendar,
      scope: 'calendar.read',
    });
    expect(narrower.accessToken).not.toBe(first.accessToken);
    expect(narrower.scopes).toEqual(['calendar.read']);
    expect(tokenRequests).toHaveLength(2);
    expect(tokenRequests[0]?.form.get('subject_token_type')).toBe(
      'urn:ietf:params:oauth:token-type:access_token',
    );
  });

  it('asks every time when the cache is off', async () => {
    const subjectToken = (await secretClient(world.agentA).clientCredentials({ audience: world.ids.b }))
      .accessToken;
    const { fetch, tokenRequests } = recordingFetch();
    const agentB = secretClient(world.agentB, { fetch, cache: false });
    await agentB.exchange({ subjectToken, audience: world.calendar });
    await agentB.exchange({ subjectToken, audience: world.calendar });
    expect(tokenRequests).toHaveLength(2);
  });

  it("throws OAuthError with the server's error and description, and caches no refusal", async () => {
    const subjectToken = (await secretClient(world.agentA).clientCredentials({ audience: world.ids.b }))
      .accessToken;
    const agentB = secretClient(world.agentB);
    const refused = await agentB
      .exchange({ subjectToken, audience: world.calendar, scope: 'calendar.admin' })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(OAuthError);
    expect(refused).toMatchObject({ code: 'oauth_error', error: 'invalid_scope', status: 400 });
    expect((refused as OAuthError).errorDescription).toMatch(/\S/);

    const wrongTarget = await agentB
      .exchange({ subjectToken, audience: 'https://unknown.example' })
      .catch((error: unknown) => error);
    expect(wrongTarget).toMatchObject({ error: 'invalid_target' });
    await expect(agentB.exchange({ subjectToken, audience: world.calendar })).resolves.toBeDefined();
  });

  it('throws invalid_client for a wrong secret', async () => {
    const wrong = new AgentStsClient({
      issuer: server.config.issuer,
      clientId: world.ids.b,
      authentication: { method: 'client_secret_basic', clientSecret: 'not-the-secret' },
    });
    const error = await wrong.clientCredentials().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AgentStsClientError);
    expect(error).toMatchObject({ error: 'invalid_client', status: 401 });
  });
});
