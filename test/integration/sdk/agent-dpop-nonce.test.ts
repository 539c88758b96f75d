/**
 * AgentStsClient against agent-sts with `DPOP_NONCE=required` (RFC 9449 §8; ADR 0012): the first
 * DPoP request is answered `use_dpop_nonce` and the client tries once more with the nonce that came
 * with it (§8.2), with a new proof and a new client assertion; later requests carry the nonce of
 * the last answer and go through at the first try; a server that keeps refusing gets one retry.
 */
import { decodeJwt, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentStsClient, OAuthError, type DpopKeyPair } from '../../../src/sdk/agent/index.js';
import { registerAgent } from '../../helpers/fixtures.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { registerKeyAgent, registerWorld, SCOPES } from './helpers.js';

let server: TestServer;
let world: Awaited<ReturnType<typeof registerWorld>>;
let dpopKey: DpopKeyPair;

interface Exchange {
  readonly proofNonce: unknown;
  readonly assertionJti: unknown;
  readonly status: number;
  readonly error: unknown;
  readonly answeredNonce: string | null;
}

/** A fetch that records each token request's proof nonce and the answer's status and `DPoP-Nonce`. */
function recordingFetch(): { fetch: typeof fetch; exchanges: Exchange[] } {
  const exchanges: Exchange[] = [];
  const recording: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    if (init?.method !== 'POST') return response;
    const proof = new Headers(init.headers).get('dpop');
    const assertion = new URLSearchParams(String(init.body)).get('client_assertion');
    const body = (await response.clone().json()) as Record<string, unknown>;
    exchanges.push({
      proofNonce: proof ? decodeJwt(proof).nonce : undefined,
      assertionJti: assertion ? decodeJwt(assertion).jti : undefined,
      status: response.status,
      error: body.error,
      answeredNonce: response.headers.get('dpop-nonce'),
    });
    return response;
  };
  return { fetch: recording, exchanges };
}

function clientOf(agent: typeof world.agentA, fetchImpl: typeof fetch) {
  return new AgentStsClient({
    issuer: server.config.issuer,
    clientId: agent.id,
    authentication: { method: 'client_secret_basic', clientSecret: agent.clientSecret ?? '' },
    dpopKey,
    fetch: fetchImpl,
  });
}

beforeAll(async () => {
  server = await startTestServer({ env: { DPOP_NONCE: 'required' } });
  world = await registerWorld(server);
  dpopKey = await generateKeyPair('ES256');
});

afterAll(async () => {
  await server?.close();
});

describe('DPoP server nonces', () => {
  it('answers use_dpop_nonce by retrying once with the nonce it was given, then keeps using the latest', async () => {
    const { fetch, exchanges } = recordingFetch();
    const client = clientOf(world.agentA, fetch);

    const tokens = await client.clientCredentials({ audience: world.calendar, scope: 'calendar.read' });
    expect(tokens.tokenType).toBe('DPoP');
    expect(exchanges).toHaveLength(2);
    const [challenged, retried] = exchanges;
    expect(challenged).toMatchObject({ proofNonce: undefined, status: 400, error: 'use_dpop_nonce' });
    expect(challenged?.answeredNonce).toMatch(/\S/);
    expect(retried).toMatchObject({ proofNonce: challenged?.answeredNonce, status: 200 });
    expect(retried?.answeredNonce).toMatch(/\S/);

    // The nonce of the last answer goes into the next proof: no second challenge.
    await client.clientCredentials({ audience: world.calendar, scope: 'calendar.write' });
    expect(exchanges).toHaveLength(3);
    expect(exchanges[2]).toMatchObject({ proofNonce: retried?.answeredNonce, status: 200 });
  });

  it('exchanges with DPoP through a challenge, with a new client assertion on the retry', async () => {
    const { id, privateKey, kid } = await registerKeyAgent(server, `pkjwt-nonce-${world.ids.b}`, [
      world.calendar,
    ]);
    const starter = await registerAgent(server, {
      id: `starter-${id}`,
      allowedScopes: SCOPES,
      allowedAudiences: [id],
    });
    const subjectToken = (await clientOf(starter, globalThis.fetch).clientCredentials({ audience: id }))
      .accessToken;
    const { fetch, exchanges } = recordingFetch();
    const actor = new AgentStsClient({
      issuer: server.config.issuer,
      clientId: id,
      authentication: { method: 'private_key_jwt', privateKey, kid },
      dpopKey,
      fetch,
    });

    const tokens = await actor.exchange({ subjectToken, audience: world.calendar });
    expect(tokens.tokenType).toBe('DPoP');
    expect(decodeJwt(tokens.accessToken).act).toEqual({ sub: id });
    expect(exchanges.map((exchange) => exchange.status)).toEqual([400, 200]);
    expect(exchanges[1]?.proofNonce).toBe(exchanges[0]?.answeredNonce);
    expect(exchanges[1]?.assertionJti).not.toBe(exchanges[0]?.assertionJti);
  });

  it('retries only once when the server keeps asking for a nonce', async () => {
    let calls = 0;
    const refusing: typeof fetch = async (input, init) => {
      if (init?.method !== 'POST') return fetch(input, init);
      calls += 1;
      return new Response(JSON.stringify({ error: 'use_dpop_nonce' }), {
        status: 400,
        headers: { 'content-type': 'application/json', 'dpop-nonce': `nonce-${calls}` },
      });
    };
    const error = await clientOf(world.agentA, refusing)
      .clientCredentials({ audience: world.calendar })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ error: 'use_dpop_nonce' });
    expect(calls).toBe(2);
  });
});
