/**
 * Token exchange end to end (CONTRACT §3.2, §3.3; SECURITY-CASES E, ST-08, DC-07, DC-09): a user
 * of a trusted IdP → agent-a → agent-b → a resource, checked as a resource server checks it,
 * plus the output properties, revocation and disabled-agent chains, and impersonation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  disableAgent,
  enableAgent,
  registerAgent,
  registerResource,
  registerTrustedIssuer,
  uniqueSuffix,
} from '../../helpers/fixtures.js';
import { startJwksServer, type JwksServer } from '../../helpers/jwks-server.js';
import {
  agentToken,
  createExternalIssuer,
  decodeJwt,
  decodeProtectedHeader,
  exchange,
  exchangeRequest,
  generateSigningKey,
  refusalChecker,
  TOKEN_TYPE_ACCESS_TOKEN,
  TOKEN_TYPE_JWT,
  verifyAsResourceServer,
  type ExternalIssuer,
  type TestAgent,
} from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

const suffix = uniqueSuffix();
const CALENDAR = `https://calendar-${suffix}.example/api`;
const STS_AUDIENCE = `https://sts-${suffix}.example`;
const AGENT_A = `agent-a-${suffix}`;
const AGENT_B = `agent-b-${suffix}`;
const AGENT_C = `agent-c-${suffix}`;

let server: TestServer;
let idp: ExternalIssuer;
let remoteIdp: ExternalIssuer;
let jwksServer: JwksServer;
let agentA: TestAgent;
let agentB: TestAgent;
let agentC: TestAgent;
let upstream: TestAgent;
/** alice's token from the IdP, addressed to agent-a. */
let aliceToken: string;
let expectRefusal: ReturnType<typeof refusalChecker>;

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

beforeAll(async () => {
  server = await startTestServer({ env: { ALLOW_LOOPBACK_HTTP_JWKS: 'true' } });
  idp = await createExternalIssuer(`https://idp-${suffix}.example`);
  remoteIdp = await createExternalIssuer(`https://remote-idp-${suffix}.example`);
  jwksServer = await startJwksServer(remoteIdp.jwks);
  await registerTrustedIssuer(server, { issuer: idp.issuer, jwks: idp.jwks, audiences: [STS_AUDIENCE] });
  await registerTrustedIssuer(server, {
    issuer: remoteIdp.issuer,
    jwksUri: jwksServer.url,
    audiences: [STS_AUDIENCE],
  });
  await registerResource(server, { id: CALENDAR, scopes: ['calendar.read', 'calendar.write'] });

  const key = await generateSigningKey();
  agentA = {
    ...(await registerAgent(server, {
      id: AGENT_A,
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwks: { keys: [key.publicJwk] },
      allowedScopes: ['calendar.read', 'calendar.write', 'profile'],
      allowedAudiences: [AGENT_B, CALENDAR],
      tokenTtlSeconds: 600,
    })),
    privateKey: key.privateKey,
    kid: key.kid,
  };
  agentB = await registerAgent(server, {
    id: AGENT_B,
    allowedScopes: ['calendar.read', 'calendar.write'],
    allowedAudiences: [CALENDAR, AGENT_C],
    tokenTtlSeconds: 300,
  });
  agentC = await registerAgent(server, {
    id: AGENT_C,
    tokenEndpointAuthMethod: 'client_secret_post',
    allowedScopes: ['calendar.read'],
    allowedAudiences: [CALENDAR],
  });
  upstream = await registerAgent(server, {
    id: `upstream-${suffix}`,
    allowedScopes: ['calendar.read'],
    allowedAudiences: [AGENT_A],
  });

  aliceToken = await idp.sign(
    {
      sub: 'alice',
      aud: AGENT_A,
      scope: 'openid profile calendar.read calendar.write',
      email: 'alice@example.com',
      groups: ['staff'],
    },
    { ttl: 900 },
  );
  expectRefusal = refusalChecker(server, () =>
    exchangeRequest(server, agentA, { subject_token: aliceToken, audience: AGENT_B }),
  );
});

afterAll(async () => {
  await server?.close();
  await jwksServer?.close();
});

describe('a two-hop chain', () => {
  it('user → agent-a → agent-b → calendar: nested act, one txn, never outliving the subject', async () => {
    const userToken = await idp.sign(
      { sub: 'alice', aud: AGENT_A, scope: 'calendar.read calendar.write profile' },
      { ttl: 200 },
    );
    const userExp = decodeJwt(userToken).exp as number;

    const hop1 = await exchange(server, agentA, {
      subject_token: userToken,
      audience: AGENT_B,
      scope: 'calendar.read calendar.write',
    });
    const atB = await verifyAsResourceServer(server, hop1.token, AGENT_B);
    expect(atB).toMatchObject({
      iss: server.baseUrl,
      sub: 'alice',
      aud: AGENT_B,
      client_id: AGENT_A,
      scope: 'calendar.read calendar.write',
      act: { sub: AGENT_A },
    });
    // agent-a's TTL is 600 s, the user's token lives 200: the hop ends with the user's token.
    expect(atB.exp).toBe(userExp);

    const hop2 = await exchange(server, agentB, {
      subject_token: hop1.token,
      resource: CALENDAR,
      scope: 'calendar.read',
    });
    const atCalendar = await verifyAsResourceServer(server, hop2.token, CALENDAR);
    expect(atCalendar).toMatchObject({
      iss: server.baseUrl,
      sub: 'alice',
      aud: CALENDAR,
      client_id: AGENT_B,
      scope: 'calendar.read',
      act: { sub: AGENT_B, act: { sub: AGENT_A } },
      txn: atB.txn,
    });
    expect(atCalendar.exp).toBeLessThanOrEqual(atB.exp as number);
    expect(atCalendar.jti).not.toBe(atB.jti);
    // Not for the next hop: the token is bound to the calendar alone.
    await expect(verifyAsResourceServer(server, hop2.token, AGENT_B)).rejects.toThrow();

    const rows = await server.database.prisma.issuedToken.findMany({
      where: { jti: { in: [atB.jti as string, atCalendar.jti as string] } },
    });
    const second = rows.find((row) => row.jti === atCalendar.jti);
    expect(second).toMatchObject({
      parentJti: atB.jti,
      txn: atB.txn,
      depth: 2,
      clientId: AGENT_B,
      sub: 'alice',
    });
    expect(second?.chainAgents).toEqual([AGENT_A, AGENT_B]);
    const audit = await server.database.prisma.auditEvent.findFirst({
      where: { jti: atCalendar.jti as string },
    });
    expect(audit).toMatchObject({
      decision: 'granted',
      rule: 'granted',
      clientId: AGENT_B,
      subject: 'alice',
      audience: CALENDAR,
      grantedScope: 'calendar.read',
      parentJti: atB.jti,
      txn: atB.txn,
    });
  });

  it('TO-01 answers RFC 8693 §2.2.1 with no-store, no-cache and no refresh token', async () => {
    const { response, claims } = await exchange(server, agentA, {
      subject_token: aliceToken,
      audience: AGENT_B,
      scope: 'calendar.read',
    });
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('pragma')).toBe('no-cache');
    expect(response.body).toEqual({
      access_token: expect.any(String),
      issued_token_type: TOKEN_TYPE_ACCESS_TOKEN,
      token_type: 'Bearer',
      expires_in: (claims.exp as number) - (claims.iat as number),
      scope: 'calendar.read',
    });
  });

  it('TO-02/TO-03 signs an at+jwt with a published key and every claim of §3.3', async () => {
    const { token, claims } = await exchange(server, agentA, {
      subject_token: aliceToken,
      audience: AGENT_B,
    });
    const header = decodeProtectedHeader(token);
    expect(header).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });
    const jwks = (await (await fetch(`${server.baseUrl}/jwks`)).json()) as { keys: { kid: string }[] };
    expect(jwks.keys.map((key) => key.kid)).toContain(header.kid);
    expect(Object.keys(claims).sort()).toEqual(
      ['act', 'aud', 'client_id', 'exp', 'iat', 'iss', 'jti', 'nbf', 'scope', 'sub', 'txn'].sort(),
    );
    expect(typeof claims.aud).toBe('string');
    // TTL of agent-a (600 s) is shorter than the rest of alice's 900 s.
    expect((claims.exp as number) - (claims.iat as number)).toBe(600);
  });

  it('TO-04 copies no claim of an external token, and keeps only identities in act', async () => {
    const token = await idp.sign({
      sub: 'alice',
      aud: AGENT_A,
      scope: 'calendar.read',
      email: 'alice@example.com',
      tenant: 't1',
      act: { sub: upstream.id, exp: nowSeconds() + 10_000, aud: 'elsewhere', nbf: 1, role: 'admin' },
    });
    const { claims } = await exchange(server, agentA, { subject_token: token, audience: AGENT_B });
    expect(claims.act).toEqual({ sub: AGENT_A, act: { sub: upstream.id } });
    expect(claims).not.toHaveProperty('email');
    expect(claims).not.toHaveProperty('tenant');
    expect(claims).not.toHaveProperty('groups');
  });

  it('TO-05 never outlives the actor token either', async () => {
    const actorToken = await idp.sign({ sub: AGENT_A, aud: STS_AUDIENCE }, { ttl: 90 });
    const { claims } = await exchange(server, agentA, {
      subject_token: aliceToken,
      actor_token: actorToken,
      actor_token_type: TOKEN_TYPE_ACCESS_TOKEN,
      audience: AGENT_B,
    });
    expect(claims.exp).toBe(decodeJwt(actorToken).exp);
  });

  it('accepts a user token addressed to agent-sts itself by the IdP (its audiences)', async () => {
    const token = await idp.sign({ sub: 'bob', aud: STS_AUDIENCE, scope: 'calendar.read' });
    const { claims } = await exchange(server, agentA, { subject_token: token, audience: CALENDAR });
    expect(claims).toMatchObject({
      sub: 'bob',
      aud: CALENDAR,
      act: { sub: AGENT_A },
      scope: 'calendar.read',
    });
  });

  it('verifies a trusted issuer through its jwksUri', async () => {
    const token = await remoteIdp.sign({ sub: 'carol', aud: AGENT_A, scope: 'calendar.read' });
    const { claims } = await exchange(server, agentA, { subject_token: token, audience: CALENDAR });
    expect(claims).toMatchObject({ sub: 'carol', act: { sub: AGENT_A } });
    expect(jwksServer.hits()).toBeGreaterThan(0);
  });

  it("AV-05 refuses, issuing nothing, when a trusted issuer's JWKS is unreachable", async () => {
    const unreachable = await createExternalIssuer(`https://unreachable-idp-${suffix}.example`);
    const closed = await startJwksServer(unreachable.jwks);
    await closed.close();
    await registerTrustedIssuer(server, {
      issuer: unreachable.issuer,
      jwksUri: closed.url,
      audiences: [STS_AUDIENCE],
    });
    const token = await unreachable.sign({ sub: 'gina', aud: AGENT_A, scope: 'calendar.read' });
    await expectRefusal(() => exchangeRequest(server, agentA, { subject_token: token, audience: AGENT_B }), {
      status: 400,
      error: 'invalid_request',
      rule: 'subject_token_invalid',
    });
  });

  it('issues issued_token_type jwt when requested_token_type is jwt', async () => {
    const { response, token } = await exchange(server, agentA, {
      subject_token: aliceToken,
      audience: AGENT_B,
      requested_token_type: TOKEN_TYPE_JWT,
    });
    expect(response.body.issued_token_type).toBe(TOKEN_TYPE_JWT);
    await verifyAsResourceServer(server, token, AGENT_B);
  });

  it("continues a chain that began with an agent's own token, with act and one txn", async () => {
    const own = await agentToken(server, agentB, { audience: AGENT_C });
    const { claims } = await exchange(server, agentC, { subject_token: own.token, audience: CALENDAR });
    expect(claims).toMatchObject({
      sub: AGENT_B,
      client_id: AGENT_C,
      act: { sub: AGENT_C },
      txn: own.claims.txn,
    });
  });
});

describe('revocation and disabled agents (ST-08, DC-07)', () => {
  it('refuses a revoked subject token and every token derived from it', async () => {
    const hop1 = await exchange(server, agentA, { subject_token: aliceToken, audience: AGENT_B });
    const hop2 = await exchange(server, agentB, { subject_token: hop1.token, audience: AGENT_C });
    // The revocation API is not built yet: mark the row as POST /admin/revocations would.
    await server.database.prisma.issuedToken.update({
      where: { jti: hop1.claims.jti as string },
      data: { revokedAt: new Date() },
    });
    const revoked = { status: 400, error: 'invalid_request', rule: 'subject_token_revoked' };
    await expectRefusal(
      () => exchangeRequest(server, agentB, { subject_token: hop1.token, audience: CALENDAR }),
      revoked,
    );
    await expectRefusal(
      () => exchangeRequest(server, agentC, { subject_token: hop2.token, audience: CALENDAR }),
      revoked,
    );
  });

  it('refuses a chain in which an agent was disabled, and accepts it again once re-enabled', async () => {
    const a = await registerAgent(server, {
      id: `dc7-a-${suffix}`,
      allowedScopes: ['calendar.read'],
      allowedAudiences: [`dc7-b-${suffix}`],
    });
    const b = await registerAgent(server, {
      id: `dc7-b-${suffix}`,
      allowedScopes: ['calendar.read'],
      allowedAudiences: [`dc7-c-${suffix}`],
    });
    const c = await registerAgent(server, {
      id: `dc7-c-${suffix}`,
      allowedScopes: ['calendar.read'],
      allowedAudiences: [CALENDAR],
    });
    const user = await idp.sign({ sub: 'dave', aud: a.id, scope: 'calendar.read' });
    const hop1 = await exchange(server, a, { subject_token: user, audience: b.id });
    const hop2 = await exchange(server, b, { subject_token: hop1.token, audience: c.id });

    await disableAgent(server, b.id);
    await expectRefusal(() => exchangeRequest(server, c, { subject_token: hop2.token, audience: CALENDAR }), {
      status: 400,
      error: 'invalid_request',
      rule: 'chain_agent_inactive',
    });
    await enableAgent(server, b.id);
    await exchange(server, c, { subject_token: hop2.token, audience: CALENDAR });

    // The same when the agent that started the chain with its own token is disabled.
    const own = await agentToken(server, a);
    const fromOwn = await exchange(server, b, { subject_token: own.token, audience: c.id });
    await disableAgent(server, a.id);
    await expectRefusal(
      () => exchangeRequest(server, c, { subject_token: fromOwn.token, audience: CALENDAR }),
      {
        status: 400,
        error: 'invalid_request',
        rule: 'chain_agent_inactive',
      },
    );
  });
});

describe('impersonation (CONTRACT §3.3, DC-09)', () => {
  it('refuses impersonate=true from an agent without mayImpersonate', async () => {
    await expectRefusal(
      () =>
        exchangeRequest(server, agentA, {
          subject_token: aliceToken,
          audience: AGENT_B,
          impersonate: 'true',
        }),
      { status: 400, error: 'invalid_request', rule: 'impersonation_not_allowed' },
    );
  });

  it('issues a token without act to an agent flagged mayImpersonate, and audits it as impersonation', async () => {
    const impersonator = await registerAgent(server, {
      id: `impersonator-${suffix}`,
      allowedScopes: ['calendar.read'],
      allowedAudiences: [CALENDAR],
      mayImpersonate: true,
    });
    const user = await idp.sign({ sub: 'erin', aud: impersonator.id, scope: 'calendar.read' });
    const { claims } = await exchange(server, impersonator, {
      subject_token: user,
      audience: CALENDAR,
      impersonate: 'true',
    });
    expect(claims).toMatchObject({ sub: 'erin', aud: CALENDAR, client_id: impersonator.id });
    expect(claims).not.toHaveProperty('act');
    const audit = await server.database.prisma.auditEvent.findFirst({ where: { jti: claims.jti as string } });
    expect(audit).toMatchObject({ decision: 'granted', impersonation: true, clientId: impersonator.id });
    const row = await server.database.prisma.issuedToken.findUnique({ where: { jti: claims.jti as string } });
    expect(row).toMatchObject({ impersonation: true, depth: 1, chainAgents: [impersonator.id] });

    // Without the parameter the same agent delegates, with act.
    const delegated = await exchange(server, impersonator, { subject_token: user, audience: CALENDAR });
    expect(delegated.claims.act).toEqual({ sub: impersonator.id });
  });

  it('keeps an impersonating agent in the chain it hid from act: liveness and depth still see it', async () => {
    const hidden = await registerAgent(server, {
      id: `hidden-${suffix}`,
      allowedScopes: ['calendar.read'],
      allowedAudiences: [`middle-${suffix}`],
      mayImpersonate: true,
    });
    const middle = await registerAgent(server, {
      id: `middle-${suffix}`,
      allowedScopes: ['calendar.read'],
      allowedAudiences: [`last-${suffix}`],
      maxDelegationDepth: 3,
    });
    const last = await registerAgent(server, {
      id: `last-${suffix}`,
      allowedScopes: ['calendar.read'],
      allowedAudiences: [CALENDAR, `end-${suffix}`],
    });
    const end = await registerAgent(server, {
      id: `end-${suffix}`,
      allowedScopes: ['calendar.read'],
      allowedAudiences: [CALENDAR],
    });
    const user = await idp.sign({ sub: 'frank', aud: hidden.id, scope: 'calendar.read' });
    const hop1 = await exchange(server, hidden, {
      subject_token: user,
      audience: middle.id,
      impersonate: 'true',
    });
    const hop2 = await exchange(server, middle, { subject_token: hop1.token, audience: last.id });
    expect(hop2.claims.act).toEqual({ sub: middle.id });
    const rows = await server.database.prisma.issuedToken.findMany({
      where: { jti: { in: [hop1.claims.jti as string, hop2.claims.jti as string] } },
      orderBy: { depth: 'asc' },
    });
    expect(rows.map((row) => [row.depth, row.chainAgents])).toEqual([
      [1, [hidden.id]],
      [2, [hidden.id, middle.id]],
    ]);

    // Depth 3 (hidden, middle, last) is within middle's limit of 3; depth 4 is not.
    const hop3 = await exchange(server, last, { subject_token: hop2.token, audience: end.id });
    await expectRefusal(
      () => exchangeRequest(server, end, { subject_token: hop3.token, audience: CALENDAR }),
      {
        status: 400,
        error: 'invalid_request',
        rule: 'delegation_too_deep',
      },
    );

    await disableAgent(server, hidden.id);
    await expectRefusal(
      () => exchangeRequest(server, last, { subject_token: hop2.token, audience: CALENDAR }),
      {
        status: 400,
        error: 'invalid_request',
        rule: 'chain_agent_inactive',
      },
    );
  });
});
