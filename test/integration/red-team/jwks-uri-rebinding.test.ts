/**
 * Red team: a JWKS URI passes its registration-time text check and later reaches loopback, as a
 * DNS name that resolves to 127.0.0.1 or a rebinding answer would (AD-06). The rows are written
 * straight to the database, bypassing admin validation, so only the fetch-time address check
 * stands between the URI and the host. Each of the three fetchers must refuse without opening a
 * connection, and the request is refused as an unreachable JWKS is (AV-05), never with a 500:
 * a trusted issuer's JWKS (token exchange), an agent's JWKS at introspection (private_key_jwt,
 * jose) and at the token endpoint (private_key_jwt, oidc-provider's fetch). In development
 * (ALLOW_LOOPBACK_HTTP_JWKS=true) the same loopback JWKS is fetched as before.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAgent, registerResource, uniqueSuffix } from '../../helpers/fixtures.js';
import { startJwksServer, type JwksServer } from '../../helpers/jwks-server.js';
import {
  createExternalIssuer,
  exchange,
  exchangeRequest,
  expectRefusedResponse,
  generateSigningKey,
  GRANT_TOKEN_EXCHANGE,
  requestToken,
  snapshot,
  type ExternalIssuer,
  type TestAgent,
} from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { expectOAuthError, introspect } from '../introspection-revocation/helpers.js';

const suffix = uniqueSuffix();
const API = `https://api-${suffix}.example/v1`;
const STS_AUDIENCE = `https://sts-${suffix}.example`;

interface World {
  readonly server: TestServer;
  readonly jwksServer: JwksServer;
  /** The keys of every trusted issuer here, served by jwksServer. */
  readonly remoteIdp: ExternalIssuer;
  /** A key whose public half is served by jwksServer, for agents registered with a jwksUri. */
  readonly agentKey: Awaited<ReturnType<typeof generateSigningKey>>;
  /** Exchanges subject tokens; authenticates with a secret, so no JWKS is fetched for it. */
  readonly caller: TestAgent;
}

const worlds: World[] = [];

async function createWorld(env: Record<string, string>): Promise<World> {
  const server = await startTestServer({ env });
  const remoteIdp = await createExternalIssuer(`https://remote-idp-${suffix}.example`);
  const agentKey = await generateSigningKey();
  const jwksServer = await startJwksServer({ keys: [...remoteIdp.jwks.keys, agentKey.publicJwk] });
  await registerResource(server, { id: API, scopes: ['api.read'] });
  const caller = await registerAgent(server, {
    id: `caller-${suffix}`,
    allowedScopes: ['api.read'],
    allowedAudiences: [API],
  });
  const world = { server, jwksServer, remoteIdp, agentKey, caller };
  worlds.push(world);
  return world;
}

/**
 * A trusted issuer row with this jwksUri, written as a rebinding would leave it: unvalidated.
 * Returns a signer of users' tokens from that issuer, with the keys jwksServer serves.
 */
async function trustIssuerAt(world: World, jwksUri: string): Promise<(sub: string) => Promise<string>> {
  const issuer = `https://idp-${randomUUID()}.example`;
  await world.server.database.prisma.trustedIssuer.create({
    data: { id: `ti-${randomUUID()}`, issuer, jwksUri, audiences: [STS_AUDIENCE] },
  });
  return (sub) => world.remoteIdp.sign({ iss: issuer, sub, aud: world.caller.id, scope: 'api.read' });
}

/** A private_key_jwt agent row whose keys are at jwksUri, written without validation. */
async function agentWithKeysAt(world: World, jwksUri: string): Promise<TestAgent> {
  const id = `remote-keys-${randomUUID()}`;
  await world.server.database.prisma.agent.create({
    data: {
      id,
      name: 'keys by URI',
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwksUri,
      allowedScopes: ['api.read'],
      allowedAudiences: [API],
      grantTypes: ['client_credentials', GRANT_TOKEN_EXCHANGE],
      maxDelegationDepth: 4,
      tokenTtlSeconds: 300,
    },
  });
  return {
    id,
    tokenEndpointAuthMethod: 'private_key_jwt',
    privateKey: world.agentKey.privateKey,
    kid: world.agentKey.kid,
  };
}

function loopbackUris(world: World): { name: string; uri: string }[] {
  const { port } = new URL(world.jwksServer.url);
  return [
    { name: 'a DNS name resolving to loopback', uri: `https://localhost:${port}/jwks` },
    { name: 'a loopback IP literal', uri: `https://127.0.0.1:${port}/jwks` },
    { name: 'plain http on loopback', uri: `http://127.0.0.1:${port}/jwks` },
  ];
}

afterAll(async () => {
  for (const world of worlds) {
    await world.server.close();
    await world.jwksServer.close();
  }
});

describe('outside development, a JWKS URI that reaches loopback', () => {
  let world: World;

  beforeAll(async () => {
    world = await createWorld({ ALLOW_LOOPBACK_HTTP_JWKS: 'false' });
  });

  it('is never connected to when verifying a trusted issuer’s subject token', async () => {
    for (const { name, uri } of loopbackUris(world)) {
      const userToken = await trustIssuerAt(world, uri);
      const token = await userToken('alice');
      const before = await snapshot(world.server);
      const response = await exchangeRequest(world.server, world.caller, {
        subject_token: token,
        audience: API,
      });
      await expectRefusedResponse(world.server, before, response, {
        status: 400,
        error: 'invalid_request',
        rule: 'subject_token_invalid',
        basic: true,
      });
      expect(world.jwksServer.connections(), name).toBe(0);
    }
  });

  it('is never connected to when authenticating an agent at introspection', async () => {
    for (const { name, uri } of loopbackUris(world)) {
      const agent = await agentWithKeysAt(world, uri);
      const response = await introspect(world.server, agent, 'any-token');
      expectOAuthError(response, 401, 'invalid_client');
      expect(world.jwksServer.connections(), name).toBe(0);
    }
  });

  it('is never connected to when authenticating an agent at the token endpoint', async () => {
    for (const { name, uri } of loopbackUris(world)) {
      const agent = await agentWithKeysAt(world, uri);
      const before = await snapshot(world.server);
      const response = await requestToken(world.server, agent, {
        grant_type: 'client_credentials',
        audience: API,
      });
      await expectRefusedResponse(world.server, before, response, {
        status: 401,
        error: 'invalid_client',
        rule: 'client_authentication_failed',
      });
      expect(world.jwksServer.connections(), name).toBe(0);
    }
  });
});

describe('in development (ALLOW_LOOPBACK_HTTP_JWKS=true), the same loopback JWKS', () => {
  let world: World;

  beforeAll(async () => {
    world = await createWorld({ ALLOW_LOOPBACK_HTTP_JWKS: 'true' });
  });

  it('verifies a trusted issuer’s subject token', async () => {
    const userToken = await trustIssuerAt(world, world.jwksServer.url);
    const token = await userToken('alice');
    const { claims } = await exchange(world.server, world.caller, { subject_token: token, audience: API });
    expect(claims).toMatchObject({ sub: 'alice', aud: API });
    expect(world.jwksServer.hits()).toBeGreaterThan(0);
  });

  it('authenticates an agent at introspection', async () => {
    const agent = await agentWithKeysAt(world, world.jwksServer.url);
    const hits = world.jwksServer.hits();
    const response = await introspect(world.server, agent, 'any-token');
    expect(response.status, response.text).toBe(200);
    expect(response.body).toEqual({ active: false });
    expect(world.jwksServer.hits()).toBeGreaterThan(hits);
  });

  it('authenticates an agent at the token endpoint', async () => {
    const agent = await agentWithKeysAt(world, world.jwksServer.url);
    const hits = world.jwksServer.hits();
    const response = await requestToken(world.server, agent, {
      grant_type: 'client_credentials',
      audience: API,
    });
    expect(response.status, response.text).toBe(200);
    expect(typeof response.body.access_token).toBe('string');
    expect(world.jwksServer.hits()).toBeGreaterThan(hits);
  });
});
