/**
 * Issue #6: storage keyed by request input stays bounded. Spent client-assertion and DPoP-proof
 * `jti`s are the only rows a request writes besides audit events; a row is written only once the
 * assertion's or proof's signature verified, its expiry is bounded by the assertion lifetime or
 * the proof window, and expired rows are purged. So forged or over-long-lived credentials, however
 * many, leave nothing behind (RL-05).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purgeExpiredRecords } from '../../../src/infra/replay-store.js';
import { dpopProof, generateDpopKey, requestTokenWithProof } from '../../helpers/dpop.js';
import { registerAgent, registerResource, uniqueSuffix } from '../../helpers/fixtures.js';
import {
  CLIENT_ASSERTION_TYPE,
  clientAssertion,
  expectRefusedResponse,
  generateSigningKey,
  postToken,
  snapshot,
  type TestAgent,
} from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

const suffix = uniqueSuffix();
const RESOURCE = `https://api-${suffix}.example/`;
/** CONTRACT §3: at most five minutes, plus the 15 s clock tolerance. */
const MAX_REPLAY_WINDOW_MS = (300 + 15) * 1000;

let server: TestServer;
let keyAgent: TestAgent;
let secretAgent: TestAgent;

async function replayRows() {
  return server.database.prisma.providerRecord.findMany({ orderBy: { expiresAt: 'asc' } });
}

function assertionForm(assertion: string): Record<string, string> {
  return {
    grant_type: 'client_credentials',
    client_assertion_type: CLIENT_ASSERTION_TYPE,
    client_assertion: assertion,
  };
}

async function introspectWith(assertion: string) {
  const response = await fetch(`${server.baseUrl}/token/introspection`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: assertion,
      token: 'x',
    }).toString(),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  server = await startTestServer();
  await registerResource(server, { id: RESOURCE, scopes: ['data.read'] });
  const key = await generateSigningKey();
  keyAgent = {
    ...(await registerAgent(server, {
      id: `replay-key-${suffix}`,
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwks: { keys: [key.publicJwk] },
      allowedScopes: ['data.read'],
      allowedAudiences: [RESOURCE],
    })),
    privateKey: key.privateKey,
    kid: key.kid,
  };
  secretAgent = await registerAgent(server, {
    id: `replay-secret-${suffix}`,
    allowedScopes: ['data.read'],
    allowedAudiences: [RESOURCE],
  });
});

afterAll(async () => {
  await server?.close();
});

describe('replay records', () => {
  it('stores nothing for assertions whose signature does not verify, at any endpoint', async () => {
    const forger = await generateSigningKey();
    const rowsBefore = await replayRows();
    for (let n = 0; n < 20; n += 1) {
      const forged = await clientAssertion(server, keyAgent, { key: forger.privateKey });
      const before = await snapshot(server);
      const response = await postToken(server, assertionForm(forged));
      await expectRefusedResponse(server, before, response, {
        status: 401,
        error: 'invalid_client',
        rule: 'client_authentication_failed',
      });
      const introspection = await introspectWith(
        await clientAssertion(server, keyAgent, { key: forger.privateKey }),
      );
      expect(introspection.status).toBe(401);
      expect(introspection.body.error).toBe('invalid_client');
    }
    expect(await replayRows()).toEqual(rowsBefore);
  });

  it('stores nothing for a signed assertion that lives longer than five minutes (RL-05)', async () => {
    const rowsBefore = await replayRows();
    const now = Math.floor(Date.now() / 1000);
    const tenYears = await clientAssertion(server, keyAgent, { claims: { exp: now + 10 * 365 * 86_400 } });
    const before = await snapshot(server);
    const response = await postToken(server, assertionForm(tenYears));
    await expectRefusedResponse(server, before, response, {
      status: 401,
      error: 'invalid_client',
      rule: 'client_authentication_failed',
    });
    expect((await introspectWith(tenYears)).status).toBe(401);
    expect(await replayRows()).toEqual(rowsBefore);
  });

  it('keeps a spent assertion only for its lifetime, and the purge removes it after', async () => {
    const startedAt = Date.now();
    const valid = await clientAssertion(server, keyAgent);
    const response = await postToken(server, assertionForm(valid));
    expect(response.status, response.text).toBe(200);
    const spent = (await replayRows()).filter((row) => row.model === 'ReplayDetection');
    expect(spent).toHaveLength(1);
    const expiresAt = spent[0]?.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
    expect(expiresAt - startedAt).toBeLessThanOrEqual(MAX_REPLAY_WINDOW_MS);

    // Once expired, the purge that runs every five minutes removes it.
    await server.database.prisma.providerRecord.updateMany({
      where: { model: 'ReplayDetection' },
      data: { expiresAt: new Date(Date.now() - 1_000) },
    });
    expect(await purgeExpiredRecords(server.database.prisma)).toBeGreaterThanOrEqual(1);
    expect((await replayRows()).filter((row) => row.model === 'ReplayDetection')).toEqual([]);
  });

  it('stores nothing for a DPoP proof whose signature does not verify', async () => {
    const dpopKey = await generateDpopKey();
    const other = await generateDpopKey();
    const rowsBefore = await replayRows();
    for (let n = 0; n < 10; n += 1) {
      const forged = await dpopProof(server, dpopKey, { signingKey: other.privateKey });
      const response = await requestTokenWithProof(
        server,
        secretAgent,
        { grant_type: 'client_credentials' },
        forged,
      );
      expect(response.status, response.text).toBe(400);
      expect(response.body.error).toBe('invalid_dpop_proof');
    }
    expect(await replayRows()).toEqual(rowsBefore);
  });
});
