/**
 * DPoP server nonces (RFC 9449 §8; SECURITY-CASES CA-12; ADR 0012) with `DPOP_NONCE=required`: a
 * proof without a current nonce of this service is answered 400 `use_dpop_nonce` with a fresh one
 * in `DPoP-Nonce` and issues nothing; a proof with it gets a DPoP-bound token and the nonce to use
 * next. Nonces are stateless, so an instance accepts another's: here two instances share only the
 * key-encryption key (and, on PostgreSQL, the database). Forged, foreign and expired nonces are
 * refused; a proof with a nonce is still held to the `iat` window and to one use.
 */
import { randomBytes } from 'node:crypto';
import ServerChallenge from 'oidc-provider/lib/helpers/challenge.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { dpopNonceSecret } from '../../../src/protocol/dpop-proof.js';
import { registerAgent, registerResource, uniqueSuffix } from '../../helpers/fixtures.js';
import { dpopProof, generateDpopKey, requestTokenWithProof, type DpopKey } from '../../helpers/dpop.js';
import {
  auditSince,
  decodeJwt,
  refusalChecker,
  requestToken,
  snapshot,
  type Form,
  type TestAgent,
  type TokenResponse,
} from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

const suffix = uniqueSuffix();
const RESOURCE = `https://calendar-${suffix}.example/api`;
const CC: Form = { grant_type: 'client_credentials', audience: RESOURCE };
/** oidc-provider's nonces: 32 bytes of HKDF output, base64url. */
const NONCE_SYNTAX = /^[A-Za-z0-9_-]{43}$/;

const NONCE_MISSING = { status: 400, error: 'use_dpop_nonce', rule: 'dpop_nonce_missing' } as const;
const NONCE_INVALID = { status: 400, error: 'use_dpop_nonce', rule: 'dpop_nonce_invalid' } as const;
const IDP = { status: 400, error: 'invalid_dpop_proof', rule: 'dpop_proof_invalid' } as const;
const REPLAYED = { status: 400, error: 'invalid_dpop_proof', rule: 'dpop_proof_replayed' } as const;

let server: TestServer;
/** A second instance of the same service (same issuer and key-encryption key). */
let other: TestServer;
let agent: TestAgent;
/** The same agent as the second instance knows it (its own registration when it has its own database). */
let agentAtOther: TestAgent;
let key: DpopKey;
let expectRefusal: ReturnType<typeof refusalChecker>;

/** A proof for the issuer's token endpoint; every instance expects that `htu`. */
function proof(claims: Record<string, unknown> = {}): Promise<string> {
  return dpopProof(server, key, { claims });
}

/** What the client learns from a first request: the nonce in the `use_dpop_nonce` answer. */
async function nonceFrom(target: TestServer, as: TestAgent): Promise<string> {
  const response = await requestTokenWithProof(target, as, CC, await proof());
  expect(response.status, response.text).toBe(400);
  expect(response.body.error).toBe('use_dpop_nonce');
  const nonce = response.headers.get('dpop-nonce');
  expect(nonce).toMatch(NONCE_SYNTAX);
  return nonce as string;
}

/** The nonce the service would have issued at `at` (milliseconds), computed as it does. */
function nonceIssuedAt(at: number, keyEncryptionKey: Buffer): string {
  vi.useFakeTimers({ toFake: ['Date'] });
  try {
    vi.setSystemTime(at);
    return new ServerChallenge(dpopNonceSecret(keyEncryptionKey), 'DPoP').nextChallenge();
  } finally {
    vi.useRealTimers();
  }
}

function expectBound(response: TokenResponse): void {
  expect(response.status, response.text).toBe(200);
  expect(response.body.token_type).toBe('DPoP');
  expect(decodeJwt(response.body.access_token as string).cnf).toEqual({ jkt: key.jkt });
  expect(response.headers.get('dpop-nonce'), 'the nonce to use next').toMatch(NONCE_SYNTAX);
}

/** The whole §8 flow as a client runs it: learn the nonce, then send a proof carrying it. */
async function withNonce(target: TestServer = server, as: TestAgent = agent): Promise<TokenResponse> {
  const nonce = await nonceFrom(target, as);
  return requestTokenWithProof(target, as, CC, await proof({ nonce }));
}

async function registerWorld(target: TestServer): Promise<TestAgent> {
  await registerResource(target, { id: RESOURCE, scopes: ['calendar.read'] });
  return registerAgent(target, {
    id: `nonce-agent-${suffix}`,
    allowedScopes: ['calendar.read'],
    allowedAudiences: [RESOURCE],
  });
}

beforeAll(async () => {
  server = await startTestServer({ env: { DPOP_NONCE: 'required' } });
  agent = await registerWorld(server);
  key = await generateDpopKey('ES256');
  expectRefusal = refusalChecker(
    () => server,
    () => withNonce(),
  );
});

afterAll(async () => {
  await server?.close();
});

describe('DPOP_NONCE=required (RFC 9449 §8)', () => {
  it('answers a proof without a nonce with use_dpop_nonce and a fresh nonce, issuing nothing', async () => {
    const response = await expectRefusal(
      async () => requestTokenWithProof(server, agent, CC, await proof()),
      NONCE_MISSING,
    );
    expect(response.headers.get('dpop-nonce')).toMatch(NONCE_SYNTAX);
  });

  it('binds the token to a proof that carries the nonce, and names the nonce to use next', async () => {
    const before = await snapshot(server);
    const response = await withNonce();
    expectBound(response);
    const rows = await auditSince(server, before);
    expect(rows.map((row) => [row.decision, row.rule])).toEqual([
      ['denied', 'dpop_nonce_missing'],
      ['granted', 'granted'],
    ]);
    // The announced nonce serves the next request as is.
    const next = response.headers.get('dpop-nonce') as string;
    expectBound(await requestTokenWithProof(server, agent, CC, await proof({ nonce: next })));
  });

  it('leaves requests without a DPoP proof alone: Bearer tokens need no nonce', async () => {
    const response = await requestToken(server, agent, CC);
    expect(response.status, response.text).toBe(200);
    expect(response.body.token_type).toBe('Bearer');
    expect(response.headers.get('dpop-nonce')).toBeNull();
  });

  it.each<[string, () => string, typeof NONCE_INVALID | typeof NONCE_MISSING]>([
    ['a forged nonce', () => randomBytes(32).toString('base64url'), NONCE_INVALID],
    [
      'a nonce of a service with another key-encryption key',
      () => nonceIssuedAt(Date.now(), randomBytes(32)),
      NONCE_INVALID,
    ],
    [
      'a nonce issued ten minutes ago',
      () => nonceIssuedAt(Date.now() - 10 * 60_000, server.config.keyEncryptionKey),
      NONCE_INVALID,
    ],
    ['an empty nonce', () => '', NONCE_MISSING],
  ])('refuses %s with use_dpop_nonce and a fresh nonce', async (_name, nonce, expected) => {
    const response = await expectRefusal(
      async () => requestTokenWithProof(server, agent, CC, await proof({ nonce: nonce() })),
      expected,
    );
    expect(response.headers.get('dpop-nonce')).toMatch(NONCE_SYNTAX);
  });

  it('accepts a nonce computed as the service does, now and two minutes ago', async () => {
    // The construction the expired case relies on yields nonces the service accepts.
    for (const at of [Date.now(), Date.now() - 2 * 60_000]) {
      const nonce = nonceIssuedAt(at, server.config.keyEncryptionKey);
      expectBound(await requestTokenWithProof(server, agent, CC, await proof({ nonce })));
    }
  });

  it('holds a proof with a valid nonce to the five-minute iat window', async () => {
    const nonce = await nonceFrom(server, agent);
    const iat = Math.floor(Date.now() / 1000) - 3600;
    await expectRefusal(
      async () => requestTokenWithProof(server, agent, CC, await proof({ nonce, iat })),
      IDP,
    );
  });

  it('refuses a replayed proof even when its nonce is still current', async () => {
    const nonce = await nonceFrom(server, agent);
    const replayed = await proof({ nonce });
    expectBound(await requestTokenWithProof(server, agent, CC, replayed));
    await expectRefusal(() => requestTokenWithProof(server, agent, CC, replayed), REPLAYED);
  });
});

describe('across instances', () => {
  beforeAll(async () => {
    // On PostgreSQL the second instance shares the database, as another pod would; on PGlite it has
    // a database of its own, and shares nothing with the first but the key-encryption key.
    const shared = Boolean(process.env.DATABASE_URL);
    const started = await startTestServer({
      keepData: shared,
      env: { DPOP_NONCE: 'required', ISSUER: server.baseUrl, ADMIN_TOKEN: server.adminToken },
    });
    other = { ...started, baseUrl: `http://127.0.0.1:${started.config.port}` };
    agentAtOther = shared ? agent : await registerWorld(other);
  }, 120_000);

  afterAll(async () => {
    await other?.close();
  });

  it('accepts at each instance a nonce the other one issued', async () => {
    const fromFirst = await nonceFrom(server, agent);
    expectBound(await requestTokenWithProof(other, agentAtOther, CC, await proof({ nonce: fromFirst })));
    const fromOther = await nonceFrom(other, agentAtOther);
    expectBound(await requestTokenWithProof(server, agent, CC, await proof({ nonce: fromOther })));
  });
});
