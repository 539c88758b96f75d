/**
 * DPoP-bound tokens at the token endpoint (RFC 9449; SECURITY-CASES CA-11, CA-12, TO-06): a valid
 * proof binds the issued token to its key (`cnf.jkt`, `token_type: DPoP`) for both grants; a bad
 * or replayed proof is refused with invalid_dpop_proof and issues nothing; an agent registered for
 * DPoP-bound tokens gets none without a proof; a bound subject token is exchanged only with a
 * proof of its key; introspection shows the binding, and a resource server can check it.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { exportJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  registerAgent,
  registerResource,
  registerTrustedIssuer,
  uniqueSuffix,
} from '../../helpers/fixtures.js';
import {
  dpopProof,
  generateDpopKey,
  proofKeyAtResourceServer,
  requestTokenWithProof,
  unsecuredProof,
  type DpopKey,
} from '../../helpers/dpop.js';
import {
  agentToken,
  auditSince,
  createExternalIssuer,
  decodeJwt,
  expectRefusedResponse,
  GRANT_TOKEN_EXCHANGE,
  refusalChecker,
  requestToken,
  snapshot,
  TOKEN_TYPE_ACCESS_TOKEN,
  TOKEN_TYPE_JWT,
  verifyAsResourceServer,
  type ExternalIssuer,
  type Form,
  type TestAgent,
  type TokenResponse,
} from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { adminApi, path } from '../admin/admin-client.js';
import { introspect } from '../introspection-revocation/helpers.js';

const suffix = uniqueSuffix();
const CALENDAR = `https://calendar-${suffix}.example/api`;
const STS_AUDIENCE = `https://sts-${suffix}.example`;

const IDP = { status: 400, error: 'invalid_dpop_proof', rule: 'dpop_proof_invalid' } as const;
const REPLAYED = { status: 400, error: 'invalid_dpop_proof', rule: 'dpop_proof_replayed' } as const;
const MISSING = { status: 400, error: 'invalid_dpop_proof', rule: 'dpop_proof_missing' } as const;
const SUBJECT_BINDING = {
  status: 400,
  error: 'invalid_request',
  rule: 'subject_token_binding_mismatch',
} as const;

let server: TestServer;
let idp: ExternalIssuer;
/** Gets tokens for the calendar and for `peer`. */
let agent: TestAgent;
/** Exchanges the tokens `agent` gets for it. */
let peer: TestAgent;
/** Registered with dpopBoundAccessTokens. */
let boundAgent: TestAgent;
let admin: TestAgent;
let key: DpopKey;
let otherKey: DpopKey;
let expectRefusal: ReturnType<typeof refusalChecker>;

const CC: Form = { grant_type: 'client_credentials', audience: CALENDAR };

function withProof(form: Form, proof: string | readonly string[], as: TestAgent = agent) {
  return () => requestTokenWithProof(server, as, form, proof);
}

function expectBound(response: TokenResponse, jkt: string): Record<string, unknown> {
  expect(response.status, response.text).toBe(200);
  expect(response.body.token_type).toBe('DPoP');
  const claims = decodeJwt(response.body.access_token as string);
  expect(claims.cnf).toEqual({ jkt });
  return claims;
}

function exchangeForm(subjectToken: string, fields: Form = {}): Form {
  return {
    grant_type: GRANT_TOKEN_EXCHANGE,
    subject_token: subjectToken,
    subject_token_type: TOKEN_TYPE_ACCESS_TOKEN,
    audience: CALENDAR,
    ...fields,
  };
}

/** A client_credentials token of `holder` for `audience`, bound to `bindTo`. */
async function boundToken(bindTo: DpopKey, holder = agent, audience = peer.id): Promise<string> {
  const form = { grant_type: 'client_credentials', audience };
  const response = await requestTokenWithProof(server, holder, form, await dpopProof(server, bindTo));
  expectBound(response, bindTo.jkt);
  return response.body.access_token as string;
}

/** `agent`'s bearer token for `peer`: a subject token `peer` may exchange. */
async function bearerForPeer(): Promise<string> {
  return (await agentToken(server, agent, { audience: peer.id })).token;
}

beforeAll(async () => {
  server = await startTestServer();
  idp = await createExternalIssuer(`https://idp-${suffix}.example`);
  await registerTrustedIssuer(server, { issuer: idp.issuer, jwks: idp.jwks, audiences: [STS_AUDIENCE] });
  await registerResource(server, { id: CALENDAR, scopes: ['calendar.read'] });
  peer = await registerAgent(server, {
    id: `dpop-peer-${suffix}`,
    allowedScopes: ['calendar.read'],
    allowedAudiences: [CALENDAR],
  });
  agent = await registerAgent(server, {
    id: `dpop-agent-${suffix}`,
    allowedScopes: ['calendar.read'],
    allowedAudiences: [CALENDAR, peer.id],
  });
  boundAgent = await registerAgent(server, {
    id: `dpop-bound-${suffix}`,
    tokenEndpointAuthMethod: 'client_secret_post',
    allowedScopes: ['calendar.read'],
    allowedAudiences: [CALENDAR],
    dpopBoundAccessTokens: true,
  });
  admin = await registerAgent(server, {
    id: `dpop-admin-${suffix}`,
    allowedScopes: ['sts:admin'],
    allowedAudiences: [server.baseUrl],
  });
  key = await generateDpopKey('ES256');
  otherKey = await generateDpopKey('ES256');
  // A getter: one test restarts the server.
  expectRefusal = refusalChecker(
    () => server,
    () => requestToken(server, agent, CC),
  );
});

afterAll(async () => {
  await server?.close();
});

describe('discovery', () => {
  it('lists the asymmetric DPoP proof algorithms', async () => {
    const metadata = (await (
      await fetch(`${server.baseUrl}/.well-known/oauth-authorization-server`)
    ).json()) as {
      dpop_signing_alg_values_supported: string[];
    };
    expect(metadata.dpop_signing_alg_values_supported).toEqual(['ES256', 'PS256', 'EdDSA', 'Ed25519']);
  });
});

describe('issuance (TO-06)', () => {
  it.each(['ES256', 'PS256', 'Ed25519'])(
    'binds a client_credentials token to the %s proof key: cnf.jkt and token_type DPoP',
    async (alg) => {
      const proofKey = await generateDpopKey(alg);
      const before = await snapshot(server);
      const response = await requestTokenWithProof(server, agent, CC, await dpopProof(server, proofKey));
      const claims = expectBound(response, proofKey.jkt);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(await verifyAsResourceServer(server, response.body.access_token as string, CALENDAR)).toEqual(
        claims,
      );
      const lineage = await server.database.prisma.issuedToken.findUnique({
        where: { jti: String(claims.jti) },
      });
      expect(lineage?.jkt).toBe(proofKey.jkt);
      const rows = await auditSince(server, before);
      expect(rows.map((row) => [row.decision, row.rule, row.jti])).toEqual([
        ['granted', 'granted', claims.jti],
      ]);
    },
  );

  it('issues a Bearer token without cnf when no proof is sent', async () => {
    const { claims, response } = await agentToken(server, agent, { audience: CALENDAR });
    expect(response.body.token_type).toBe('Bearer');
    expect(claims).not.toHaveProperty('cnf');
    const lineage = await server.database.prisma.issuedToken.findUnique({
      where: { jti: String(claims.jti) },
    });
    expect(lineage?.jkt).toBeNull();
  });

  it('binds an exchanged token to the proof key, for either requested token type', async () => {
    const subject = await bearerForPeer();
    for (const requested of [TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_JWT]) {
      const form = exchangeForm(subject, { requested_token_type: requested });
      const response = await requestTokenWithProof(server, peer, form, await dpopProof(server, key));
      const claims = expectBound(response, key.jkt);
      expect(response.body.issued_token_type).toBe(requested);
      expect(claims).toMatchObject({ sub: agent.id, aud: CALENDAR, act: { sub: peer.id } });
    }
  });

  it('accepts an htu that differs only by query and fragment', async () => {
    const htu = `${server.baseUrl}/token?unused=1#fragment`;
    const response = await requestTokenWithProof(
      server,
      agent,
      CC,
      await dpopProof(server, key, { claims: { htu } }),
    );
    expectBound(response, key.jkt);
  });

  it('lets a resource server check that the token is presented with a proof of its cnf.jkt', async () => {
    const response = await requestTokenWithProof(server, agent, CC, await dpopProof(server, key));
    const token = response.body.access_token as string;
    const claims = await verifyAsResourceServer(server, token, CALENDAR);
    const request = { htm: 'GET', htu: `${CALENDAR}/events` };
    const ath = createHash('sha256').update(token).digest('base64url');
    const holderProof = await dpopProof(server, key, { claims: { ...request, ath } });
    expect(await proofKeyAtResourceServer(holderProof, token, request)).toBe(
      (claims.cnf as { jkt: string }).jkt,
    );
    // A thief with the token but another key cannot present it.
    const thiefProof = await dpopProof(server, otherKey, { claims: { ...request, ath } });
    expect(await proofKeyAtResourceServer(thiefProof, token, request)).not.toBe(
      (claims.cnf as { jkt: string }).jkt,
    );
  });
});

describe('invalid proofs (CA-11)', () => {
  const hour = 3600;
  const now = () => Math.floor(Date.now() / 1000);

  it.each<[string, () => Promise<string>]>([
    ['htm GET', () => dpopProof(server, key, { claims: { htm: 'GET' } })],
    ['htm post (case matters)', () => dpopProof(server, key, { claims: { htm: 'post' } })],
    ['htu of another endpoint', () => dpopProof(server, key, { claims: { htu: `${server.baseUrl}/jwks` } })],
    ['htu of another host', () => dpopProof(server, key, { claims: { htu: 'https://sts.example/token' } })],
    ['htu not a URL', () => dpopProof(server, key, { claims: { htu: 'token' } })],
    ['iat one hour ahead', () => dpopProof(server, key, { claims: { iat: now() + hour } })],
    ['iat one hour ago', () => dpopProof(server, key, { claims: { iat: now() - hour } })],
    ['typ jwt', () => dpopProof(server, key, { header: { typ: 'JWT' } })],
    ['typ at+jwt', () => dpopProof(server, key, { header: { typ: 'at+jwt' } })],
    ['no typ', () => dpopProof(server, key, { header: { typ: undefined } })],
    ['alg none', async () => unsecuredProof(server, key)],
    [
      'alg HS256 keyed with the jwk',
      () =>
        dpopProof(server, key, {
          header: { alg: 'HS256', jwk: { kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA' } },
          signingKey: new TextEncoder().encode('secret-secret-secret-secret-secret'),
        }),
    ],
    [
      'alg RS256 (not accepted)',
      async () => {
        const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
        return dpopProof(server, key, {
          header: { alg: 'RS256', jwk: await exportJWK(publicKey) },
          signingKey: privateKey as never,
        });
      },
    ],
    [
      'jwk with the private key (d)',
      async () => dpopProof(server, key, { header: { jwk: await exportJWK(key.privateKey) } }),
    ],
    ['no jwk', () => dpopProof(server, key, { header: { jwk: undefined } })],
    ['signed by another key than its jwk', () => dpopProof(server, key, { signingKey: otherKey.privateKey })],
    ['no jti', () => dpopProof(server, key, { claims: { jti: undefined } })],
    ['no htm', () => dpopProof(server, key, { claims: { htm: undefined } })],
    ['no htu', () => dpopProof(server, key, { claims: { htu: undefined } })],
    ['no iat', () => dpopProof(server, key, { claims: { iat: undefined } })],
    ['a nonce this server never gave', () => dpopProof(server, key, { claims: { nonce: 'made-up' } })],
    ['not a JWT', async () => 'not-a-jwt'],
  ])('refuses a proof with %s', async (_name, make) => {
    await expectRefusal(withProof(CC, await make()), IDP);
  });

  it('refuses two DPoP headers, each a valid proof', async () => {
    const proofs = [await dpopProof(server, key), await dpopProof(server, key)];
    const response = await expectRefusal(withProof(CC, proofs), IDP);
    expect(response.body.error_description).toBe('exactly one DPoP header is allowed');
  });

  it('refuses two proofs folded into one header', async () => {
    const folded = `${await dpopProof(server, key)}, ${await dpopProof(server, key)}`;
    await expectRefusal(withProof(CC, folded), IDP);
  });

  it('refuses an empty DPoP header', async () => {
    await expectRefusal(withProof(CC, ''), IDP);
  });

  it('refuses a bad proof on a token exchange too', async () => {
    const proof = await dpopProof(server, key, { claims: { htm: 'PUT' } });
    await expectRefusal(withProof(exchangeForm(await bearerForPeer()), proof, peer), IDP);
  });
});

describe('replayed proofs (CA-12)', () => {
  it('refuses a proof used a second time', async () => {
    const proof = await dpopProof(server, key);
    expectBound(await requestTokenWithProof(server, agent, CC, proof), key.jkt);
    const response = await expectRefusal(withProof(CC, proof), REPLAYED);
    expect(response.body.error_description).toBe('DPoP proof jti was already used');
  });

  it('refuses a proof replayed by another agent', async () => {
    const proof = await dpopProof(server, key);
    expectBound(await requestTokenWithProof(server, agent, CC, proof), key.jkt);
    await expectRefusal(withProof({ ...CC }, proof, boundAgent), REPLAYED);
  });

  it('spends a proof even when the request is refused for another reason', async () => {
    const proof = await dpopProof(server, key);
    const refused = await requestTokenWithProof(server, agent, { ...CC, scope: 'calendar.write' }, proof);
    expect(refused.body.error).toBe('invalid_scope');
    await expectRefusal(withProof(CC, proof), REPLAYED);
  });

  it('keeps a proof dated ahead spent for as long as its iat keeps it acceptable', async () => {
    const proof = await dpopProof(server, key, { claims: { iat: Math.floor(Date.now() / 1000) + 240 } });
    expectBound(await requestTokenWithProof(server, agent, CC, proof), key.jkt);
    const stored = await server.database.prisma.providerRecord.findMany({ where: { model: 'DPoPProof' } });
    const latest = Math.max(...stored.map((record) => record.expiresAt?.getTime() ?? 0));
    expect(latest).toBeGreaterThanOrEqual(Date.now() + 530_000);
  });

  it('refuses a replay after a restart', async () => {
    const proof = await dpopProof(server, key);
    expectBound(await requestTokenWithProof(server, agent, CC, proof), key.jkt);
    server = await server.restart();
    await expectRefusal(withProof(CC, proof), REPLAYED);
  });
});

describe('agents registered with dpopBoundAccessTokens (RFC 9449 §5.2)', () => {
  it('refuses client_credentials without a proof', async () => {
    const before = await snapshot(server);
    const response = await requestToken(server, boundAgent, CC);
    await expectRefusedResponse(server, before, response, MISSING);
  });

  it('refuses a token exchange without a proof', async () => {
    const subject = await bearerForPeer();
    const before = await snapshot(server);
    // The subject is addressed to another agent, but the missing proof is judged first.
    const response = await requestToken(server, boundAgent, exchangeForm(subject));
    await expectRefusedResponse(server, before, response, MISSING);
  });

  it('issues DPoP-bound tokens with a proof', async () => {
    expectBound(await requestTokenWithProof(server, boundAgent, CC, await dpopProof(server, key)), key.jkt);
  });
});

describe('exchange of a DPoP-bound subject token', () => {
  it('refuses it without a proof', async () => {
    const subject = await boundToken(key);
    const before = await snapshot(server);
    const response = await requestToken(server, peer, exchangeForm(subject));
    await expectRefusedResponse(server, before, response, SUBJECT_BINDING);
  });

  it('refuses it with a proof of another key', async () => {
    const subject = await boundToken(key);
    const proof = await dpopProof(server, otherKey);
    await expectRefusal(withProof(exchangeForm(subject), proof, peer), SUBJECT_BINDING);
  });

  it('exchanges it with a proof of its key, and binds the new token to that key', async () => {
    const subject = await boundToken(key);
    const proof = await dpopProof(server, key);
    const claims = expectBound(
      await requestTokenWithProof(server, peer, exchangeForm(subject), proof),
      key.jkt,
    );
    expect(claims).toMatchObject({ sub: agent.id, aud: CALENDAR, txn: decodeJwt(subject).txn });
  });

  it("applies to a trusted issuer's DPoP-bound token too", async () => {
    const external = await idp.sign({
      sub: 'alice',
      aud: STS_AUDIENCE,
      scope: 'calendar.read',
      cnf: { jkt: key.jkt },
    });
    await expectRefusal(
      withProof(exchangeForm(external), await dpopProof(server, otherKey)),
      SUBJECT_BINDING,
    );
    const response = await requestTokenWithProof(
      server,
      agent,
      exchangeForm(external),
      await dpopProof(server, key),
    );
    expect(expectBound(response, key.jkt)).toMatchObject({ sub: 'alice', act: { sub: agent.id } });
  });

  it('refuses a token bound by a confirmation method this service cannot check', async () => {
    const thumbprint = createHash('sha256').update('a certificate').digest('base64url');
    const external = await idp.sign({
      sub: 'alice',
      aud: STS_AUDIENCE,
      scope: 'calendar.read',
      cnf: { 'x5t#S256': thumbprint },
    });
    await expectRefusal(withProof(exchangeForm(external), await dpopProof(server, key)), SUBJECT_BINDING);
  });

  it('refuses a token with a malformed cnf claim', async () => {
    const external = await idp.sign({
      sub: 'alice',
      aud: STS_AUDIENCE,
      scope: 'calendar.read',
      cnf: key.jkt,
    });
    await expectRefusal(withProof(exchangeForm(external), await dpopProof(server, key)), {
      status: 400,
      error: 'invalid_request',
      rule: 'subject_token_invalid',
    });
  });

  it('refuses a DPoP-bound actor token without a proof of its key', async () => {
    const actor = await boundToken(key, peer, CALENDAR);
    const form = exchangeForm(await bearerForPeer(), {
      actor_token: actor,
      actor_token_type: TOKEN_TYPE_ACCESS_TOKEN,
    });
    await expectRefusal(withProof(form, await dpopProof(server, otherKey), peer), {
      status: 400,
      error: 'invalid_request',
      rule: 'actor_token_binding_mismatch',
    });
    expectBound(await requestTokenWithProof(server, peer, form, await dpopProof(server, key)), key.jkt);
  });
});

describe('introspection and the admin API', () => {
  it('introspection shows cnf and token_type DPoP for a bound token, Bearer otherwise (RFC 9449 §6.2)', async () => {
    const bound = await requestTokenWithProof(server, agent, CC, await dpopProof(server, key));
    const answer = await introspect(server, agent, bound.body.access_token as string);
    expect(answer.body).toMatchObject({ active: true, token_type: 'DPoP', cnf: { jkt: key.jkt } });

    const { token: bearer } = await agentToken(server, agent, { audience: CALENDAR });
    const plain = await introspect(server, agent, bearer);
    expect(plain.body).toMatchObject({ active: true, token_type: 'Bearer' });
    expect(plain.body).not.toHaveProperty('cnf');
  });

  it('refuses a DPoP-bound sts:admin token as a bearer credential of the admin API', async () => {
    const form = { grant_type: 'client_credentials', audience: server.baseUrl, scope: 'sts:admin' };
    const bound = await requestTokenWithProof(server, admin, form, await dpopProof(server, key));
    expectBound(bound, key.jkt);
    expect((await adminApi(server, bound.body.access_token as string).get('/admin/agents')).status).toBe(401);
    const { token: bearer } = await agentToken(server, admin, form);
    expect((await adminApi(server, bearer).get('/admin/agents')).status).toBe(200);
  });

  it('registers, shows and changes dpopBoundAccessTokens, false by default', async () => {
    const api = adminApi(server);
    const id = `dpop-flag-${suffix}`;
    expect((await api.post('/admin/agents', { id, name: id })).body.dpopBoundAccessTokens).toBe(false);
    const agentPath = path('agents', id);
    expect((await api.patch(agentPath, { dpopBoundAccessTokens: true })).body.dpopBoundAccessTokens).toBe(
      true,
    );
    expect((await api.get(agentPath)).body.dpopBoundAccessTokens).toBe(true);
    expect((await api.patch(agentPath, { dpopBoundAccessTokens: 'yes' })).status).toBe(400);
    expect((await api.get('/docs/openapi.json')).text).toContain('dpopBoundAccessTokens');
  });
});
