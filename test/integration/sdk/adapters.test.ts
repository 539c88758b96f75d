/**
 * The framework adapters over real HTTP, with tokens from a running agent-sts: a fastify API with
 * the plugin (behind a proxy stated by `publicUrl`) and a plain node:http server with the
 * Connect-style middleware (trusting X-Forwarded-*). Each answers a request without a token with
 * both challenges and `resource_metadata` (RFC 6750 §3, RFC 9449 §7.1, RFC 9728 §5.1), accepts a
 * valid token, answers a missing scope with 403, refuses a DPoP-bound token sent as Bearer,
 * accepts it with a proof for the external URL, and refuses the proof when it is replayed.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  agentStsFastify,
  agentStsMiddleware,
  protectedResourceMetadata,
  protectedResourceMetadataUrl,
  type AgentToken,
  type ConnectRequest,
} from '../../../src/sdk/resource-server/index.js';
import { dpopProof, type DpopKey } from '../../helpers/dpop.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { registerWorld } from './helpers.js';

let server: TestServer;
let world: Awaited<ReturnType<typeof registerWorld>>;
let key: DpopKey;
let bound: string;

beforeAll(async () => {
  server = await startTestServer();
  world = await registerWorld(server);
  ({ token: bound, key } = await world.boundHop0());
});

afterAll(async () => {
  await server?.close();
});

function describeToken(token: AgentToken | undefined) {
  return {
    subject: token?.subject,
    clientId: token?.clientId,
    actors: token?.actors.map((actor) => actor.subject),
  };
}

function proofFor(htu: string, method = 'GET') {
  return dpopProof(server, key, {
    claims: { htm: method, htu, ath: createHash('sha256').update(bound).digest('base64url') },
  });
}

/** The behaviour both adapters share, given how to reach `/api/events` and the URL clients use. */
/** `internal`: the events URL the test server listens at; `external`: the URL clients address. */
function behavesAsAResourceServer(
  context: () => { internal: string; external: string; headers: Record<string, string> },
) {
  const get = (headers: Record<string, string>) =>
    fetch(`${context().internal}?page=1`, { headers: { ...context().headers, ...headers } });
  const metadataUrl = () => protectedResourceMetadataUrl(world.calendar).href;

  it('answers a request without a token with both challenges, no error code and resource_metadata', async () => {
    const response = await get({});
    expect(response.status).toBe(401);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const challenge = response.headers.get('www-authenticate') ?? '';
    expect(challenge).toContain(`Bearer resource_metadata="${metadataUrl()}"`);
    expect(challenge).toMatch(/DPoP resource_metadata="[^"]+", algs="ES256 PS256 EdDSA Ed25519"/);
    expect(challenge).not.toContain('error=');
  });

  it('accepts a valid Bearer token and hands the verified chain to the route', async () => {
    const response = await get({ authorization: `Bearer ${await world.hop1()}` });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      subject: world.ids.a,
      clientId: world.ids.b,
      actors: [world.ids.b],
    });
  });

  it('answers a token without the required scope with 403 insufficient_scope', async () => {
    const response = await get({ authorization: `Bearer ${await world.hop0('calendar.write')}` });
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    expect(response.headers.get('www-authenticate')).toContain('scope="calendar.read"');
    expect(await response.json()).toMatchObject({ error: 'insufficient_scope' });
  });

  it('refuses a garbled token with 401 invalid_token', async () => {
    const response = await get({ authorization: 'Bearer abc.def.ghi' });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_token"/);
  });

  it('refuses a DPoP-bound token sent as Bearer, accepts it with a proof, and refuses the proof replayed', async () => {
    const asBearer = await get({ authorization: `Bearer ${bound}` });
    expect(asBearer.status).toBe(401);
    expect(asBearer.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_token"/);

    const proof = await proofFor(context().external);
    const withProof = await get({ authorization: `DPoP ${bound}`, dpop: proof });
    expect(withProof.status, await withProof.clone().text()).toBe(200);
    expect(await withProof.json()).toEqual({ subject: world.ids.a, clientId: world.ids.a, actors: [] });

    const replayed = await get({ authorization: `DPoP ${bound}`, dpop: proof });
    expect(replayed.status).toBe(401);
    expect(replayed.headers.get('www-authenticate')).toMatch(/DPoP .*error="invalid_dpop_proof"/);
  });

  it('refuses a proof for the internal URL the proxy forwards to', async () => {
    const internal = await proofFor(context().internal);
    const response = await get({ authorization: `DPoP ${bound}`, dpop: internal });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/DPoP .*error="invalid_dpop_proof"/);
  });
}

describe('fastify plugin', () => {
  let api: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    api = Fastify();
    // RFC 9728 §3: the metadata document, outside the protected scope.
    api.get('/.well-known/oauth-protected-resource/api', async () =>
      protectedResourceMetadata({
        resource: world.calendar,
        authorizationServers: [server.config.issuer],
        scopesSupported: ['calendar.read', 'calendar.write'],
      }),
    );
    await api.register(async (scope) => {
      await scope.register(agentStsFastify, {
        issuer: server.config.issuer,
        audience: world.calendar,
        requiredScopes: ['calendar.read'],
        // The proxy in front publishes this API at the resource URL and strips /api.
        publicUrl: world.calendar,
        resourceMetadata: protectedResourceMetadataUrl(world.calendar),
      });
      scope.get('/events', async (request) => describeToken(request.agentToken));
    });
    await api.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await api?.close();
  });

  // The proxy publishes <calendar>/events and forwards it to /events here.
  behavesAsAResourceServer(() => ({
    internal: `${base}/events`,
    external: `${world.calendar}/events`,
    headers: {},
  }));

  it('serves the RFC 9728 document unprotected', async () => {
    const response = await fetch(`${base}/.well-known/oauth-protected-resource/api`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      resource: world.calendar,
      authorization_servers: [server.config.issuer],
    });
  });
});

describe('Connect-style middleware on node:http', () => {
  let http: Server;
  let base: string;
  const external = () => world.calendar;

  beforeAll(async () => {
    const authenticate = agentStsMiddleware({
      issuer: server.config.issuer,
      audience: world.calendar,
      requiredScopes: ['calendar.read'],
      trustProxy: true,
      resourceMetadata: protectedResourceMetadataUrl(world.calendar),
    });
    http = createServer((request, response) => {
      authenticate(request, response, (error?: unknown) => {
        response.statusCode = error ? 500 : 200;
        response.end(JSON.stringify(describeToken((request as ConnectRequest).agentToken)));
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => http?.close(resolve));
  });

  behavesAsAResourceServer(() => {
    const url = new URL(external());
    return {
      internal: `${base}${url.pathname}/events`,
      external: `${external()}/events`,
      headers: { 'x-forwarded-proto': url.protocol.replace(':', ''), 'x-forwarded-host': url.host },
    };
  });
});
