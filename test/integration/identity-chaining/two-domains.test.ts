/**
 * Identity chaining across trust domains (draft-ietf-oauth-identity-chaining, ADR 0025) between
 * two real running agent-sts servers, each with its own database, each registering the other as a
 * peer domain: A issues a JWT authorization grant for B's authorization server by token exchange;
 * B redeems it with the JWT bearer grant (RFC 7523 §2.1) and issues an access token whose `act`
 * chain carries the hops from A. Then every refusal the border must make, each with its status,
 * error, nothing issued and its audit row, followed by a valid redemption that still succeeds.
 */
import { randomUUID } from 'node:crypto';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, databaseUrl } from '../../../bench/seed.js';
import { signAuthorizationGrant } from '../../../src/protocol/authorization-grant.js';
import { AgentStsClient, OAuthError } from '../../../src/sdk/agent/index.js';
import {
  disableAgent,
  registerAgent,
  registerResource,
  registerTrustedIssuer,
  uniqueSuffix,
  type RegisteredAgent,
} from '../../helpers/fixtures.js';
import {
  createExternalIssuer,
  exchange,
  exchangeRequest,
  refusalChecker,
  requestToken,
  TOKEN_TYPE_JWT,
  type ExternalIssuer,
} from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { adminApi } from '../admin/admin-client.js';
import { isActive } from '../introspection-revocation/helpers.js';

const GRANT_JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const GRANT_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const suffix = uniqueSuffix();
const B_API = `https://ledger-${suffix}.b.example/api`;
const LOOPBACK_JWKS = { ALLOW_LOOPBACK_HTTP_JWKS: 'true' };

/**
 * B's own database: on PostgreSQL the `_b` sibling of DATABASE_URL's (created when missing, as on
 * a fresh CI machine), else its own PGlite.
 */
async function secondDatabase(): Promise<Record<string, string>> {
  const url = process.env.DATABASE_URL;
  if (!url) return {};
  const name = `${new URL(url).pathname.slice(1)}_b`;
  await createDatabase(url, name);
  return { DATABASE_URL: databaseUrl(url, name) };
}

let a: TestServer;
let b: TestServer;
let idp: ExternalIssuer;
/** Domain A: a-first calls a-caller, which needs the ledger API of domain B. */
let aFirst: RegisteredAgent;
let aCaller: RegisteredAgent;
let aOther: RegisteredAgent;
/** Domain B: b-client redeems A's grants; the others test the refusals. */
let bClient: RegisteredAgent;
let bNext: RegisteredAgent;
let bShallow: RegisteredAgent;
let bDisabled: RegisteredAgent;
let bStranger: RegisteredAgent;
/** An agent of A that the peer registration of B does not name. */
let unusedSecret: string;

async function adminPost(server: TestServer, path: string, body: unknown): Promise<void> {
  const response = await adminApi(server).post(path, body);
  expect(response.status, `POST ${path}: ${response.text}`).toBe(201);
}

async function adminGet(server: TestServer, path: string): Promise<Record<string, unknown>> {
  const response = await adminApi(server).get(path);
  expect(response.status, `${path}: ${response.text}`).toBe(200);
  return response.body as Record<string, unknown>;
}

beforeAll(async () => {
  [a, b] = await Promise.all([
    startTestServer({ env: LOOPBACK_JWKS }),
    startTestServer({ env: { ...LOOPBACK_JWKS, ...(await secondDatabase()) } }),
  ]);
  idp = await createExternalIssuer(`https://idp-${suffix}.a.example`);
  await registerTrustedIssuer(a, {
    issuer: idp.issuer,
    jwks: idp.jwks,
    audiences: [`https://sts-${suffix}.a.example`],
  });

  // Domain A.
  aCaller = await registerAgent(a, {
    id: `a-caller-${suffix}`,
    allowedScopes: ['ledger.read', 'ledger.write'],
    grantTypes: [GRANT_TOKEN_EXCHANGE, GRANT_JWT_BEARER],
  });
  aOther = await registerAgent(a, { id: `a-other-${suffix}`, allowedScopes: ['ledger.read'] });
  aFirst = await registerAgent(a, {
    id: `a-first-${suffix}`,
    allowedScopes: ['ledger.read', 'ledger.write'],
    allowedAudiences: [aCaller.id, aOther.id],
  });

  // Domain B.
  await registerResource(b, { id: B_API, scopes: ['ledger.read', 'ledger.write'] });
  const redeemer = (id: string, extra: Record<string, unknown> = {}) =>
    registerAgent(b, {
      id,
      allowedScopes: ['ledger.read', 'ledger.write'],
      allowedAudiences: [B_API],
      grantTypes: [GRANT_JWT_BEARER, GRANT_TOKEN_EXCHANGE],
      ...extra,
    });
  bNext = await registerAgent(b, { id: `b-next-${suffix}`, allowedScopes: ['ledger.read'] });
  bClient = await redeemer(`b-client-${suffix}`, { allowedAudiences: [B_API, bNext.id] });
  bShallow = await redeemer(`b-shallow-${suffix}`, { maxDelegationDepth: 2 });
  bDisabled = await redeemer(`b-disabled-${suffix}`);
  bStranger = await redeemer(`b-stranger-${suffix}`);

  // Each registers the other: A issues grants for B and redeems B's; B the converse.
  await adminPost(a, '/admin/peer-domains', {
    issuer: b.baseUrl,
    grantRequesters: [aCaller.id, aOther.id],
    grantScopes: ['ledger.read', 'ledger.write'],
    jwksUri: `${b.baseUrl}/jwks`,
    redeemingClients: [aCaller.id, aOther.id],
    acceptedScopes: ['ledger.read'],
  });
  await adminPost(b, '/admin/peer-domains', {
    issuer: a.baseUrl,
    grantRequesters: [bNext.id],
    grantScopes: ['ledger.read'],
    jwksUri: `${a.baseUrl}/jwks`,
    redeemingClients: [bClient.id, bShallow.id, bDisabled.id],
    acceptedScopes: ['ledger.read', 'ledger.write'],
  });
  unusedSecret = (await registerAgent(a, { id: `a-unused-${suffix}`, allowedScopes: ['ledger.read'] }))
    .clientSecret as string;
}, 120_000);

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
});

/** alice → a-first → a-caller in domain A: the token a-caller holds. */
async function tokenOfACaller(scope = 'ledger.read ledger.write'): Promise<string> {
  const user = await idp.sign({ sub: 'alice', aud: aFirst.id, scope });
  return (await exchange(a, aFirst, { subject_token: user, audience: aCaller.id })).token;
}

/** a-caller asks A for a JWT authorization grant for B's authorization server (draft §2.3). */
function grantRequest(
  subjectToken: string,
  agent: RegisteredAgent = aCaller,
  extra: Record<string, string> = {},
) {
  return exchangeRequest(a, agent, {
    subject_token: subjectToken,
    resource: b.baseUrl,
    requested_token_type: TOKEN_TYPE_JWT,
    ...extra,
  });
}

async function grantForB(scope?: string): Promise<string> {
  const response = await grantRequest(await tokenOfACaller(), aCaller, scope ? { scope } : {});
  expect(response.status, response.text).toBe(200);
  return response.body.access_token as string;
}

/** The client of domain A presents the grant at B (RFC 7523 §2.1), authenticated as a B client. */
function redeem(grant: string, agent: RegisteredAgent = bClient, extra: Record<string, string> = {}) {
  return requestToken(b, agent, {
    grant_type: GRANT_JWT_BEARER,
    assertion: grant,
    resource: B_API,
    ...extra,
  });
}

/** A grant signed with A's real signing key, with claims the test chooses. */
async function craftedGrant(claims: Record<string, unknown>): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return signAuthorizationGrant(a.app.sts.keys().active, {
    iss: a.baseUrl,
    sub: 'alice',
    aud: b.baseUrl,
    client_id: aCaller.id,
    scope: 'ledger.read',
    act: { sub: aCaller.id },
    txn: randomUUID(),
    jti: randomUUID(),
    iat: now,
    nbf: now,
    exp: now + 60,
    ...claims,
  } as never);
}

describe('discovery', () => {
  it('advertises the JWT bearer grant and what identity chaining may request', async () => {
    const metadata = (await (
      await fetch(`${b.baseUrl}/.well-known/oauth-authorization-server`)
    ).json()) as Record<string, unknown>;
    expect(metadata.grant_types_supported).toContain(GRANT_JWT_BEARER);
    expect(metadata.identity_chaining_requested_token_types_supported).toEqual([TOKEN_TYPE_JWT]);
  });
});

describe('identity chaining from domain A to domain B', () => {
  it('A issues a grant for B, B redeems it, and the act chain carries the hops from A', async () => {
    // (B) token exchange at A, through a real OAuth client library.
    const subjectToken = await tokenOfACaller();
    const config = await client.discovery(
      new URL(a.baseUrl),
      aCaller.id,
      aCaller.clientSecret,
      client.ClientSecretBasic(aCaller.clientSecret as string),
      { execute: [client.allowInsecureRequests] },
    );
    const granted = await client.genericGrantRequest(config, GRANT_TOKEN_EXCHANGE, {
      subject_token: subjectToken,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      resource: b.baseUrl,
      requested_token_type: TOKEN_TYPE_JWT,
      scope: 'ledger.read',
    });
    // (C) draft §2.3.3, RFC 8693 §2.2.1: a JWT, not an access token.
    expect(granted.issued_token_type).toBe(TOKEN_TYPE_JWT);
    expect(granted.token_type.toLowerCase()).toBe('n_a');
    const grant = granted.access_token;
    expect(decodeProtectedHeader(grant).typ).toBe('JWT');
    const { payload: grantClaims } = await jwtVerify(
      grant,
      createRemoteJWKSet(new URL(`${a.baseUrl}/jwks`)),
      {
        issuer: a.baseUrl,
        audience: b.baseUrl,
      },
    );
    expect(grantClaims).toMatchObject({
      sub: 'alice',
      aud: b.baseUrl,
      client_id: aCaller.id,
      scope: 'ledger.read',
      act: { sub: aCaller.id, act: { sub: aFirst.id } },
    });
    expect(grantClaims.exp! - grantClaims.iat!).toBeLessThanOrEqual(60);
    expect(typeof grantClaims.txn).toBe('string');

    // (D) the grant at B, by a B client, through the same library.
    const configB = await client.discovery(
      new URL(b.baseUrl),
      bClient.id,
      bClient.clientSecret,
      client.ClientSecretBasic(bClient.clientSecret as string),
      { execute: [client.allowInsecureRequests] },
    );
    const issued = await client.genericGrantRequest(configB, GRANT_JWT_BEARER, {
      assertion: grant,
      resource: B_API,
    });
    // (E) verified as B's resource server does: B's JWKS, issuer, audience, typ.
    const { payload, protectedHeader } = await jwtVerify(
      issued.access_token,
      createRemoteJWKSet(new URL(`${b.baseUrl}/jwks`)),
      { issuer: b.baseUrl, audience: B_API, typ: 'at+jwt' },
    );
    expect(protectedHeader.typ).toBe('at+jwt');
    expect(payload).toMatchObject({
      sub: 'alice',
      client_id: bClient.id,
      scope: 'ledger.read',
      act: {
        sub: bClient.id,
        act: { sub: `${aCaller.id}@${a.baseUrl}`, act: { sub: `${aFirst.id}@${a.baseUrl}` } },
      },
    });
    expect(payload.exp!).toBeLessThanOrEqual(grantClaims.exp!);

    // The audit rows and lineage on both sides; B's chain view shows where the chain came from.
    const aRow = await a.database.prisma.auditEvent.findFirst({
      where: { txn: grantClaims.txn as string, audience: b.baseUrl },
    });
    expect(aRow).toMatchObject({ decision: 'granted', rule: 'granted', clientId: aCaller.id });
    const bRow = await b.database.prisma.auditEvent.findFirst({ where: { jti: payload.jti as string } });
    expect(bRow).toMatchObject({
      decision: 'granted',
      rule: 'granted',
      grantType: GRANT_JWT_BEARER,
      clientId: bClient.id,
    });
    expect(bRow?.description).toContain(grantClaims.jti as string);
    const chain = await adminGet(b, `/admin/chains/${payload.txn as string}`);
    expect(chain.origin).toMatchObject({
      issuer: a.baseUrl,
      grantJti: grantClaims.jti,
      grantTxn: grantClaims.txn,
      grantClientId: aCaller.id,
      foreignActors: [`${aFirst.id}@${a.baseUrl}`, `${aCaller.id}@${a.baseUrl}`],
      redeemedBy: bClient.id,
    });
    const aChain = await adminGet(a, `/admin/chains/${grantClaims.txn as string}`);
    expect(JSON.stringify(aChain)).toContain(b.baseUrl);

    // B's token is one of B's own: live at introspection, though its first actors answer to A.
    expect(await isActive(b, bClient, issued.access_token)).toBe(true);
  });

  it('lets the chain go on inside B, and refuses it back into A as a cycle across the border', async () => {
    const grant = await grantForB('ledger.read');
    const inB = await redeem(grant, bClient, { resource: '', audience: bNext.id });
    expect(inB.status, inB.text).toBe(200);
    // b-next carries the chain on: a grant of B for A, naming every hop so far.
    const back = await exchangeRequest(b, bNext, {
      subject_token: inB.body.access_token as string,
      audience: a.baseUrl,
      requested_token_type: TOKEN_TYPE_JWT,
    });
    expect(back.status, back.text).toBe(200);
    const backGrant = back.body.access_token as string;
    expect(decodeJwt(backGrant).act).toEqual({
      sub: bNext.id,
      act: {
        sub: bClient.id,
        act: { sub: `${aCaller.id}@${a.baseUrl}`, act: { sub: `${aFirst.id}@${a.baseUrl}` } },
      },
    });
    // At A, a-caller is already in the chain: A → B → A.
    const expectRefusal = refusalChecker(a, async () => grantRequest(await tokenOfACaller('ledger.read')));
    await expectRefusal(
      () =>
        requestToken(a, aCaller, {
          grant_type: GRANT_JWT_BEARER,
          assertion: backGrant,
          audience: aCaller.id,
        }),
      { status: 400, error: 'invalid_request', rule: 'delegation_cycle' },
    );
  });
});

describe('the agent SDK across the border', () => {
  const sdkClient = (server: TestServer, agent: RegisteredAgent) =>
    new AgentStsClient({
      issuer: server.baseUrl,
      clientId: agent.id,
      authentication: { method: 'client_secret_basic', clientSecret: agent.clientSecret ?? '' },
    });

  it('asks A for a grant for B, and redeems it at B; never a cached grant', async () => {
    const atA = sdkClient(a, aCaller);
    const atB = sdkClient(b, bClient);
    const subjectToken = await tokenOfACaller('ledger.read');
    const grant = await atA.authorizationGrant({ subjectToken, authorizationServer: b.baseUrl });
    expect(grant.issuedTokenType).toBe(TOKEN_TYPE_JWT);
    const again = await atA.authorizationGrant({ subjectToken, authorizationServer: b.baseUrl });
    expect(again.accessToken).not.toBe(grant.accessToken);

    const token = await atB.redeemAuthorizationGrant({ assertion: grant.accessToken, resource: B_API });
    expect(token.tokenType).toBe('Bearer');
    expect(decodeJwt(token.accessToken).act).toEqual({
      sub: bClient.id,
      act: { sub: `${aCaller.id}@${a.baseUrl}`, act: { sub: `${aFirst.id}@${a.baseUrl}` } },
    });
    const replay = atB.redeemAuthorizationGrant({ assertion: grant.accessToken, resource: B_API });
    await expect(replay).rejects.toBeInstanceOf(OAuthError);
    await expect(replay).rejects.toMatchObject({ error: 'invalid_grant' });
  });
});

describe('refusals at the border', () => {
  const expectRefusal = refusalChecker(
    () => b,
    async () => redeem(await grantForB('ledger.read')),
  );

  it('refuses a grant from a domain that is not a registered peer', async () => {
    const stranger = await createExternalIssuer(`https://as-${suffix}.c.example`);
    const now = Math.floor(Date.now() / 1000);
    const foreign = await stranger.sign(
      { sub: 'alice', aud: b.baseUrl, scope: 'ledger.read', jti: randomUUID(), exp: now + 60 },
      { header: { typ: 'JWT' } },
    );
    await expectRefusal(() => redeem(foreign), {
      status: 400,
      error: 'invalid_grant',
      rule: 'peer_not_registered',
    });
  });

  it('refuses a grant addressed to another authorization server', async () => {
    const grant = await craftedGrant({ aud: 'https://as.elsewhere.example' });
    await expectRefusal(() => redeem(grant), {
      status: 400,
      error: 'invalid_grant',
      rule: 'authorization_grant_invalid',
    });
  });

  it("refuses one of A's access tokens presented as a grant", async () => {
    const accessToken = await tokenOfACaller();
    await expectRefusal(() => redeem(accessToken), {
      status: 400,
      error: 'invalid_grant',
      rule: 'authorization_grant_invalid',
    });
  });

  it('refuses an expired grant', async () => {
    const now = Math.floor(Date.now() / 1000);
    const grant = await craftedGrant({ iat: now - 600, nbf: now - 600, exp: now - 300 });
    await expectRefusal(() => redeem(grant), {
      status: 400,
      error: 'invalid_grant',
      rule: 'authorization_grant_invalid',
    });
  });

  it('refuses a grant presented a second time', async () => {
    const grant = await grantForB('ledger.read');
    const first = await redeem(grant);
    expect(first.status, first.text).toBe(200);
    await expectRefusal(() => redeem(grant), {
      status: 400,
      error: 'invalid_grant',
      rule: 'authorization_grant_replayed',
    });
  });

  it('refuses a scope wider than the grant carried', async () => {
    const grant = await grantForB('ledger.read');
    await expectRefusal(() => redeem(grant, bClient, { scope: 'ledger.read ledger.write' }), {
      status: 400,
      error: 'invalid_scope',
      rule: 'scope_escalation',
    });
  });

  it('refuses a chain that would be too deep once it crosses', async () => {
    const grant = await grantForB('ledger.read');
    await expectRefusal(() => redeem(grant, bShallow), {
      status: 400,
      error: 'invalid_request',
      rule: 'delegation_too_deep',
    });
  });

  it('refuses a cycle across the border', async () => {
    const grant = await craftedGrant({
      act: { sub: aCaller.id, act: { sub: `${bClient.id}@${b.baseUrl}` } },
    });
    await expectRefusal(() => redeem(grant), {
      status: 400,
      error: 'invalid_request',
      rule: 'delegation_cycle',
    });
  });

  it('refuses a client the peer registration does not name', async () => {
    const grant = await grantForB('ledger.read');
    await expectRefusal(() => redeem(grant, bStranger), {
      status: 400,
      error: 'unauthorized_client',
      rule: 'peer_client_not_allowed',
    });
  });

  it('refuses a disabled redeeming agent', async () => {
    await disableAgent(b, bDisabled.id);
    const grant = await grantForB('ledger.read');
    await expectRefusal(() => redeem(grant, bDisabled), {
      status: 401,
      error: 'invalid_client',
      rule: 'client_authentication_failed',
      basic: true,
    });
  });
});

describe('refusals at the source', () => {
  const expectRefusal = refusalChecker(
    () => a,
    async () => grantRequest(await tokenOfACaller('ledger.read')),
  );

  it('refuses a grant for the peer to an agent the peer registration does not name', async () => {
    const subject = await idp.sign({ sub: 'alice', aud: `a-unused-${suffix}`, scope: 'ledger.read' });
    const unused = { ...aOther, id: `a-unused-${suffix}`, clientSecret: unusedSecret };
    await expectRefusal(() => grantRequest(subject, unused), {
      status: 400,
      error: 'invalid_target',
      rule: 'target_not_allowed',
    });
  });

  it('refuses a grant wider than the subject token', async () => {
    const subject = await tokenOfACaller('ledger.read');
    await expectRefusal(() => grantRequest(subject, aCaller, { scope: 'ledger.read ledger.write' }), {
      status: 400,
      error: 'invalid_scope',
      rule: 'scope_escalation',
    });
  });

  it('refuses an access token for a peer authorization server', async () => {
    const subject = await tokenOfACaller('ledger.read');
    await expectRefusal(
      () =>
        exchangeRequest(a, aCaller, {
          subject_token: subject,
          resource: b.baseUrl,
          requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        }),
      { status: 400, error: 'invalid_request', rule: 'unsupported_requested_token_type' },
    );
  });
});

describe.runIf(process.env.DATABASE_URL)('single use across the instances of domain B', () => {
  let b2: TestServer;
  /** The second instance of B at its own address; its issuer is B's, as behind a load balancer. */
  let atB2: TestServer;

  beforeAll(async () => {
    b2 = await startTestServer({
      keepData: true,
      env: {
        ...LOOPBACK_JWKS,
        ...(await secondDatabase()),
        ISSUER: b.config.issuer,
        ADMIN_TOKEN: b.adminToken,
      },
    });
    atB2 = { ...b2, baseUrl: `http://127.0.0.1:${b2.config.port}` };
  }, 60_000);

  afterAll(async () => {
    await b2?.close();
  });

  it('refuses on one instance a grant redeemed on the other', async () => {
    const grant = await grantForB('ledger.read');
    const first = await redeem(grant);
    expect(first.status, first.text).toBe(200);
    const expectRefusal = refusalChecker(
      () => b,
      async () =>
        requestToken(atB2, bClient, {
          grant_type: GRANT_JWT_BEARER,
          assertion: await grantForB('ledger.read'),
          resource: B_API,
        }),
    );
    await expectRefusal(
      () => requestToken(atB2, bClient, { grant_type: GRANT_JWT_BEARER, assertion: grant, resource: B_API }),
      { status: 400, error: 'invalid_grant', rule: 'authorization_grant_replayed' },
    );
  });
});
