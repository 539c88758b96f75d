/**
 * Transaction Tokens end to end (draft-ietf-oauth-transaction-tokens, ADR 0024): token exchange
 * with `requested_token_type=urn:ietf:params:oauth:token-type:txn_token` for the configured Trust
 * Domain, checked as a workload of the Trust Domain checks it (jose against the JWKS); replacement;
 * the refusals, each with its status, error, audit row and nothing issued; the chain and audit views.
 */
import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTPayload,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  disableAgent,
  enableAgent,
  registerAgent,
  registerResource,
  registerTrustedIssuer,
  uniqueSuffix,
} from '../../helpers/fixtures.js';
import {
  agentToken,
  createExternalIssuer,
  exchangeRequest,
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
import { dpopProof, generateDpopKey, requestTokenWithProof } from '../../helpers/dpop.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

const TOKEN_TYPE_TXN_TOKEN = 'urn:ietf:params:oauth:token-type:txn_token';
const suffix = uniqueSuffix();
const TRUST_DOMAIN = `trust-domain-${suffix}.example`;
const LEDGER = `https://ledger-${suffix}.example/api`;
const LIFETIME = 120;

let server: TestServer;
let idp: ExternalIssuer;
/** The API gateway of the Trust Domain: turns alice's token into a Txn-Token. */
let gateway: TestAgent;
/** A workload inside the Trust Domain: may replace a Txn-Token it was handed. */
let orders: TestAgent;
/** A second workload, used where a test disables one. */
let billing: TestAgent;
/** An agent with no place in the Trust Domain. */
let outsider: TestAgent;
/** An agent whose own token, addressed to the gateway, starts a chain of this service. */
let upstream: TestAgent;
let aliceToken: string;
let jwks: ReturnType<typeof createRemoteJWKSet>;
let expectRefusal: ReturnType<typeof refusalChecker>;

const REQUEST_CONTEXT = { req_ip: '69.151.72.123', authn: 'face' };
const REQUEST_DETAILS = { action: 'BUY', ticker: 'MSFT', quantity: '100' };

function txnTokenRequest(agent: TestAgent, params: Form): Promise<TokenResponse> {
  return exchangeRequest(server, agent, {
    requested_token_type: TOKEN_TYPE_TXN_TOKEN,
    audience: TRUST_DOMAIN,
    ...params,
  });
}

async function txnToken(agent: TestAgent, params: Form): Promise<{ token: string; response: TokenResponse }> {
  const response = await txnTokenRequest(agent, params);
  expect(response.status, response.text).toBe(200);
  return { token: response.body.access_token as string, response };
}

/** A workload of the Trust Domain verifies a Txn-Token ("Txn-Token Validation"). */
async function verifyTxnToken(token: string): Promise<JWTPayload> {
  const { payload, protectedHeader } = await jwtVerify(token, jwks, {
    issuer: server.baseUrl,
    audience: TRUST_DOMAIN,
    typ: 'txntoken+jwt',
    algorithms: ['ES256'],
  });
  expect(protectedHeader.typ).toBe('txntoken+jwt');
  return payload;
}

/** alice's Txn-Token, obtained by the gateway. */
function gatewayTxnToken(scope = 'trade.read trade.buy', extra: Form = {}) {
  return txnToken(gateway, {
    subject_token: aliceToken,
    scope,
    request_context: JSON.stringify(REQUEST_CONTEXT),
    request_details: JSON.stringify(REQUEST_DETAILS),
    ...extra,
  });
}

function replace(agent: TestAgent, token: string, params: Form = {}): Promise<TokenResponse> {
  return txnTokenRequest(agent, {
    subject_token: token,
    subject_token_type: TOKEN_TYPE_TXN_TOKEN,
    ...params,
  });
}

async function adminGet(path: string): Promise<Record<string, unknown>> {
  const response = await fetch(server.baseUrl + path, {
    headers: { authorization: `Bearer ${server.adminToken}` },
  });
  expect(response.status, path).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

async function adminPost(path: string, body: unknown): Promise<void> {
  const response = await fetch(server.baseUrl + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status, await response.text()).toBeLessThan(300);
}

beforeAll(async () => {
  server = await startTestServer({
    env: { TXN_TOKEN_TRUST_DOMAIN: TRUST_DOMAIN, TXN_TOKEN_LIFETIME_SECONDS: String(LIFETIME) },
  });
  jwks = createRemoteJWKSet(new URL(`${server.baseUrl}/jwks`));
  idp = await createExternalIssuer(`https://idp-${suffix}.example`);
  await registerTrustedIssuer(server, {
    issuer: idp.issuer,
    jwks: idp.jwks,
    audiences: [`https://sts-${suffix}.example`],
  });
  await registerResource(server, { id: LEDGER, scopes: ['trade.read'] });
  const workload = {
    allowedScopes: ['trade.read', 'trade.buy'],
    allowedAudiences: [TRUST_DOMAIN],
  };
  gateway = await registerAgent(server, { id: `gateway-${suffix}`, ...workload });
  orders = await registerAgent(server, { id: `orders-${suffix}`, ...workload });
  billing = await registerAgent(server, { id: `billing-${suffix}`, ...workload });
  outsider = await registerAgent(server, {
    id: `outsider-${suffix}`,
    allowedScopes: ['trade.read', 'trade.buy'],
    allowedAudiences: [LEDGER],
  });
  upstream = await registerAgent(server, {
    id: `upstream-${suffix}`,
    allowedScopes: ['trade.read'],
    allowedAudiences: [gateway.id],
  });
  aliceToken = await idp.sign({ sub: 'alice', aud: gateway.id, scope: 'trade.read trade.buy' }, { ttl: 900 });
  expectRefusal = refusalChecker(server, () =>
    txnTokenRequest(gateway, { subject_token: aliceToken, scope: 'trade.read' }),
  );
});

afterAll(async () => {
  await server?.close();
});

describe('a Txn-Token for the Trust Domain', () => {
  it('is issued to a workload of the Trust Domain, and verifies against the JWKS with every claim', async () => {
    const before = await snapshot(server);
    const { token, response } = await gatewayTxnToken('trade.buy');

    // Txn-Tokens draft, "Txn-Token Response"; RFC 8693 §2.2.1.
    expect(response.body).toEqual({
      access_token: token,
      issued_token_type: TOKEN_TYPE_TXN_TOKEN,
      token_type: 'N_A',
      expires_in: LIFETIME,
      scope: 'trade.buy',
    });
    expect(response.headers.get('cache-control')).toBe('no-store');

    const claims = await verifyTxnToken(token);
    expect(Object.keys(claims).sort()).toEqual(
      ['act', 'aud', 'exp', 'iat', 'iss', 'jti', 'rctx', 'req_wl', 'scope', 'sub', 'tctx', 'txn'].sort(),
    );
    expect(claims).toMatchObject({
      iss: server.baseUrl,
      aud: TRUST_DOMAIN,
      sub: 'alice',
      scope: 'trade.buy',
      req_wl: gateway.id,
      act: { sub: gateway.id },
      rctx: REQUEST_CONTEXT,
      tctx: REQUEST_DETAILS,
    });
    expect(claims.txn).toMatch(/^[0-9a-f-]{36}$/);
    expect((claims.exp as number) - (claims.iat as number)).toBe(LIFETIME);
    const header = decodeProtectedHeader(token);
    const published = (await adminGet('/jwks')) as { keys: { kid: string }[] };
    expect(published.keys.map((key) => key.kid)).toContain(header.kid);

    // Recorded like any hop: one lineage row, one audit row.
    const lineage = await server.database.prisma.issuedToken.findUniqueOrThrow({
      where: { jti: claims.jti },
    });
    expect(lineage).toMatchObject({ aud: TRUST_DOMAIN, clientId: gateway.id, sub: 'alice', txn: claims.txn });
    const audit = await server.database.prisma.auditEvent.findMany({
      where: { id: { gt: before.lastAuditId } },
    });
    expect(audit).toMatchObject([
      {
        decision: 'granted',
        rule: 'granted',
        audience: TRUST_DOMAIN,
        jti: claims.jti,
        grantedScope: 'trade.buy',
      },
    ]);
  });

  it('is not an access token: a resource server expecting at+jwt refuses it', async () => {
    const { token } = await gatewayTxnToken('trade.read');
    await expect(verifyAsResourceServer(server, token, TRUST_DOMAIN)).rejects.toBeInstanceOf(
      errors.JWTClaimValidationFailed,
    );
  });

  it('and an access token is no Txn-Token: a Trust Domain workload refuses it', async () => {
    const { token } = await agentToken(server, upstream);
    await expect(verifyTxnToken(token)).rejects.toBeInstanceOf(errors.JWTClaimValidationFailed);
  });

  it('carries the act chain of a chain of this service, and keeps its txn', async () => {
    const root = await agentToken(server, upstream, { audience: gateway.id, scope: 'trade.read' });
    const { token } = await txnToken(gateway, { subject_token: root.token, scope: 'trade.read' });
    const claims = await verifyTxnToken(token);
    expect(claims).toMatchObject({
      sub: upstream.id,
      txn: root.claims.txn,
      req_wl: gateway.id,
      act: { sub: gateway.id },
    });
    expect(claims).not.toHaveProperty('rctx');
    expect(claims).not.toHaveProperty('tctx');
  });

  it('is advertised in the metadata only while a Trust Domain is configured', async () => {
    const metadata = await adminGet('/.well-known/oauth-authorization-server');
    expect(metadata.token_exchange_requested_token_types_supported).toContain(TOKEN_TYPE_TXN_TOKEN);
    expect(metadata.token_exchange_subject_token_types_supported).toContain(TOKEN_TYPE_TXN_TOKEN);
    expect(metadata.token_exchange_actor_token_types_supported).not.toContain(TOKEN_TYPE_TXN_TOKEN);
  });
});

describe('a replacement Txn-Token', () => {
  it('narrows the scope and adds context, keeping txn, sub and aud, and the chain of requesters', async () => {
    const original = await gatewayTxnToken('trade.read trade.buy');
    const input = await verifyTxnToken(original.token);
    const response = await replace(orders, original.token, {
      scope: 'trade.read',
      request_details: JSON.stringify({ ...REQUEST_DETAILS, venue: 'NASDAQ' }),
    });
    expect(response.status, response.text).toBe(200);
    expect(response.body).toMatchObject({ issued_token_type: TOKEN_TYPE_TXN_TOKEN, token_type: 'N_A' });
    const claims = await verifyTxnToken(response.body.access_token as string);
    expect(claims).toMatchObject({
      txn: input.txn,
      sub: 'alice',
      aud: TRUST_DOMAIN,
      scope: 'trade.read',
      req_wl: orders.id,
      act: { sub: orders.id, act: { sub: gateway.id } },
      rctx: REQUEST_CONTEXT,
      tctx: { ...REQUEST_DETAILS, venue: 'NASDAQ' },
    });
    // Never beyond the Txn-Token it replaces.
    expect(claims.exp as number).toBeLessThanOrEqual(input.exp as number);
    const lineage = await server.database.prisma.issuedToken.findUniqueOrThrow({
      where: { jti: claims.jti },
    });
    expect(lineage).toMatchObject({ parentJti: input.jti, txn: input.txn, depth: 2, clientId: orders.id });
  });

  it('shows in the chain view as Txn-Token hops under the access token they came from', async () => {
    const root = await agentToken(server, upstream, { audience: gateway.id, scope: 'trade.read' });
    const first = await txnToken(gateway, { subject_token: root.token, scope: 'trade.read' });
    const second = await replace(orders, first.token, { scope: 'trade.read' });
    expect(second.status, second.text).toBe(200);

    const chain = (await adminGet(`/admin/chains/${encodeURIComponent(root.claims.txn as string)}`)) as {
      tokenCount: number;
      roots: Record<string, unknown>[];
    };
    expect(chain.tokenCount).toBe(3);
    expect(chain.roots).toMatchObject([
      {
        jti: root.claims.jti,
        kind: 'access_token',
        actor: upstream.id,
        aud: gateway.id,
        children: [
          {
            jti: decodeJwt(first.token).jti,
            kind: 'txn_token',
            actor: gateway.id,
            aud: TRUST_DOMAIN,
            status: 'live',
            children: [
              {
                jti: decodeJwt(second.body.access_token as string).jti,
                kind: 'txn_token',
                actor: orders.id,
                depth: 2,
                children: [],
              },
            ],
          },
        ],
      },
    ]);
    const audit = (await adminGet(`/admin/audit?txn=${encodeURIComponent(root.claims.txn as string)}`)) as {
      items: Record<string, unknown>[];
    };
    expect(audit.items.filter((event) => event.audience === TRUST_DOMAIN)).toHaveLength(2);
  });
});

describe('DPoP (ADR 0024)', () => {
  it('checks the proof of an agent registered for DPoP, and issues an unbound Txn-Token', async () => {
    const bound = await registerAgent(server, {
      id: `bound-${suffix}`,
      allowedScopes: ['trade.read'],
      allowedAudiences: [TRUST_DOMAIN],
      dpopBoundAccessTokens: true,
    });
    const subject = await idp.sign({ sub: 'alice', aud: bound.id, scope: 'trade.read' });
    const form = {
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      requested_token_type: TOKEN_TYPE_TXN_TOKEN,
      audience: TRUST_DOMAIN,
      scope: 'trade.read',
      subject_token: subject,
      subject_token_type: TOKEN_TYPE_ACCESS_TOKEN,
    };
    await expectRefusal(() => requestToken(server, bound, form), {
      status: 400,
      error: 'invalid_dpop_proof',
      rule: 'dpop_proof_missing',
    });
    const response = await requestTokenWithProof(
      server,
      bound,
      form,
      await dpopProof(server, await generateDpopKey()),
    );
    expect(response.status, response.text).toBe(200);
    expect(response.body.token_type).toBe('N_A');
    const claims = await verifyTxnToken(response.body.access_token as string);
    expect(claims).not.toHaveProperty('cnf');
    const lineage = await server.database.prisma.issuedToken.findUniqueOrThrow({
      where: { jti: claims.jti },
    });
    expect(lineage.jkt).toBeNull();
  });
});

describe('refusals', () => {
  it('refuses a scope the subject token does not hold', async () => {
    await expectRefusal(() => txnTokenRequest(gateway, { subject_token: aliceToken, scope: 'trade.admin' }), {
      status: 400,
      error: 'invalid_scope',
      rule: 'scope_escalation',
    });
  });

  it('refuses a replacement that widens the scope', async () => {
    const { token } = await gatewayTxnToken('trade.read');
    await expectRefusal(() => replace(orders, token, { scope: 'trade.read trade.buy' }), {
      status: 400,
      error: 'invalid_scope',
      rule: 'scope_escalation',
    });
  });

  it('refuses a replacement that changes a context value', async () => {
    const { token } = await gatewayTxnToken('trade.read');
    await expectRefusal(
      () =>
        replace(orders, token, {
          scope: 'trade.read',
          request_details: JSON.stringify({ quantity: '1000' }),
        }),
      IR('txn_context_conflict'),
    );
  });

  it('refuses an audience other than the Trust Domain', async () => {
    await expectRefusal(
      () =>
        txnTokenRequest(gateway, {
          subject_token: aliceToken,
          scope: 'trade.read',
          audience: `other-${TRUST_DOMAIN}`,
        }),
      { status: 400, error: 'invalid_target', rule: 'trust_domain_mismatch' },
    );
  });

  it('refuses an agent that is not a workload of the Trust Domain', async () => {
    const token = await idp.sign({ sub: 'alice', aud: outsider.id, scope: 'trade.read' });
    await expectRefusal(() => txnTokenRequest(outsider, { subject_token: token, scope: 'trade.read' }), {
      status: 400,
      error: 'invalid_target',
      rule: 'target_not_allowed',
    });
  });

  it('refuses a request without scope, and a malformed request_context', async () => {
    await expectRefusal(
      () => txnTokenRequest(gateway, { subject_token: aliceToken }),
      IR('invalid_parameters'),
    );
    await expectRefusal(
      () =>
        txnTokenRequest(gateway, { subject_token: aliceToken, scope: 'trade.read', request_context: '[1]' }),
      IR('invalid_parameters'),
    );
  });

  it('refuses a disabled workload, and a Txn-Token whose chain holds one', async () => {
    const { token } = await txnToken(billing, {
      subject_token: await idp.sign({ sub: 'alice', aud: billing.id, scope: 'trade.read' }),
      scope: 'trade.read',
    });
    await disableAgent(server, billing.id);
    try {
      await expectRefusal(() => replace(billing, token, { scope: 'trade.read' }), {
        status: 401,
        error: 'invalid_client',
        rule: 'client_authentication_failed',
        basic: true,
      });
      await expectRefusal(() => replace(orders, token, { scope: 'trade.read' }), IR('chain_agent_inactive'));
    } finally {
      await enableAgent(server, billing.id);
    }
  });

  it('refuses to replace a Txn-Token of a revoked chain', async () => {
    const root = await agentToken(server, upstream, { audience: gateway.id, scope: 'trade.read' });
    const { token } = await txnToken(gateway, { subject_token: root.token, scope: 'trade.read' });
    await adminPost('/admin/revocations', { jti: root.claims.jti });
    await expectRefusal(() => replace(orders, token, { scope: 'trade.read' }), IR('subject_token_revoked'));
  });

  it('never takes a Txn-Token where an access token is expected', async () => {
    const { token } = await gatewayTxnToken('trade.read');
    // As the subject of an ordinary exchange, whatever type it is declared as.
    await expectRefusal(
      () =>
        exchangeRequest(server, orders, { subject_token: token, subject_token_type: TOKEN_TYPE_TXN_TOKEN }),
      IR('invalid_parameters'),
    );
    for (const declared of [TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_JWT]) {
      await expectRefusal(
        () =>
          exchangeRequest(server, orders, {
            subject_token: token,
            subject_token_type: declared,
            audience: LEDGER,
          }),
        IR('subject_token_invalid'),
      );
      await expectRefusal(
        () =>
          txnTokenRequest(orders, {
            subject_token: token,
            subject_token_type: declared,
            scope: 'trade.read',
          }),
        IR('subject_token_invalid'),
      );
    }
  });

  it('never takes an access token as a Txn-Token, nor issues an access token for the Trust Domain', async () => {
    const root = await agentToken(server, upstream, { audience: gateway.id, scope: 'trade.read' });
    await expectRefusal(
      () => replace(gateway, root.token, { scope: 'trade.read' }),
      IR('subject_token_invalid'),
    );
    await expectRefusal(
      () => requestToken(server, gateway, { grant_type: 'client_credentials', audience: TRUST_DOMAIN }),
      { status: 400, error: 'invalid_target', rule: 'target_not_registered' },
    );
  });
});

describe('without a configured Trust Domain', () => {
  let plain: TestServer;

  afterAll(async () => {
    await plain?.close();
  });

  it('refuses the Txn-Token type as unsupported and does not advertise it', async () => {
    plain = await startTestServer();
    await registerResource(plain, { id: LEDGER, scopes: ['trade.read'] });
    const workload = await registerAgent(plain, {
      id: `workload-${suffix}`,
      allowedScopes: ['trade.read'],
      allowedAudiences: [LEDGER],
    });
    const root = await agentToken(plain, workload);
    const check = refusalChecker(plain, () => agentToken(plain, workload).then((issued) => issued.response));
    await check(
      () =>
        exchangeRequest(plain, workload, {
          subject_token: root.token,
          requested_token_type: TOKEN_TYPE_TXN_TOKEN,
          audience: TRUST_DOMAIN,
          scope: 'trade.read',
        }),
      IR('unsupported_requested_token_type'),
    );
    const metadata = (await (
      await fetch(`${plain.baseUrl}/.well-known/oauth-authorization-server`)
    ).json()) as Record<string, unknown>;
    expect(metadata.token_exchange_requested_token_types_supported).not.toContain(TOKEN_TYPE_TXN_TOKEN);
    expect(metadata.token_exchange_subject_token_types_supported).not.toContain(TOKEN_TYPE_TXN_TOKEN);
  });
});

function IR(rule: string) {
  return { status: 400, error: 'invalid_request', rule } as const;
}
