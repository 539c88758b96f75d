/**
 * The SDK's side of Transaction Tokens (ADR 0024): an agent asks with
 * `AgentStsClient.transactionToken`, a workload of the Trust Domain checks with
 * `verifyTransactionToken` against the real JWKS, and neither helper takes the other kind of token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentStsClient, OAuthError, TOKEN_TYPE_TXN_TOKEN } from '../../../src/sdk/agent/index.js';
import {
  AgentTokenError,
  createAgentStsKeySet,
  verifyAgentToken,
  verifyTransactionToken,
  type VerifyTransactionTokenOptions,
} from '../../../src/sdk/resource-server/index.js';
import { registerAgent, registerTrustedIssuer, uniqueSuffix } from '../../helpers/fixtures.js';
import { createExternalIssuer, snapshot, type ExternalIssuer, type TestAgent } from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

const suffix = uniqueSuffix();
const TRUST_DOMAIN = `urn:trust-domain:${suffix}`;

let server: TestServer;
let idp: ExternalIssuer;
let gateway: TestAgent;
let orders: TestAgent;
let keys: ReturnType<typeof createAgentStsKeySet>;

function client(agent: TestAgent): AgentStsClient {
  return new AgentStsClient({
    issuer: server.config.issuer,
    clientId: agent.id,
    authentication: { method: 'client_secret_basic', clientSecret: agent.clientSecret ?? '' },
  });
}

function verify(token: string, extra: Partial<VerifyTransactionTokenOptions> = {}) {
  return verifyTransactionToken(token, {
    issuer: server.config.issuer,
    trustDomain: TRUST_DOMAIN,
    keys,
    ...extra,
  });
}

async function refusal(promise: Promise<unknown>): Promise<AgentTokenError> {
  const error: unknown = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AgentTokenError);
  return error as AgentTokenError;
}

beforeAll(async () => {
  server = await startTestServer({ env: { TXN_TOKEN_TRUST_DOMAIN: TRUST_DOMAIN } });
  keys = createAgentStsKeySet({ issuer: server.config.issuer });
  idp = await createExternalIssuer(`https://idp-${suffix}.example`);
  await registerTrustedIssuer(server, {
    issuer: idp.issuer,
    jwks: idp.jwks,
    audiences: [`https://sts-${suffix}.example`],
  });
  const workload = { allowedScopes: ['trade.read', 'trade.buy'], allowedAudiences: [TRUST_DOMAIN] };
  gateway = await registerAgent(server, { id: `gateway-${suffix}`, ...workload });
  orders = await registerAgent(server, {
    id: `orders-${suffix}`,
    ...workload,
    allowedAudiences: [TRUST_DOMAIN, gateway.id],
  });
});

afterAll(async () => {
  await server?.close();
});

describe('AgentStsClient.transactionToken and verifyTransactionToken', () => {
  it('gets a Txn-Token each time, which a workload verifies and reads', async () => {
    const alice = await idp.sign({ sub: 'alice', aud: gateway.id, scope: 'trade.read trade.buy' });
    const request = {
      trustDomain: TRUST_DOMAIN,
      scope: ['trade.buy'],
      subjectToken: alice,
      requestContext: { req_ip: '192.0.2.7' },
      requestDetails: { action: 'BUY', ticker: 'MSFT' },
    };
    const before = await snapshot(server);
    const first = await client(gateway).transactionToken(request);
    const second = await client(gateway).transactionToken(request);
    expect(second.accessToken).not.toBe(first.accessToken);
    expect(await server.database.prisma.issuedToken.count()).toBe(before.issuedTokens + 2);
    expect(first).toMatchObject({
      tokenType: 'N_A',
      issuedTokenType: TOKEN_TYPE_TXN_TOKEN,
      scopes: ['trade.buy'],
    });

    const txn = await verify(first.accessToken, { requiredScopes: ['trade.buy'] });
    expect(txn).toMatchObject({
      subject: 'alice',
      trustDomain: TRUST_DOMAIN,
      scopes: ['trade.buy'],
      requestingWorkload: gateway.id,
      actors: [{ subject: gateway.id }],
      requestContext: { req_ip: '192.0.2.7' },
      transactionContext: { action: 'BUY', ticker: 'MSFT' },
      issuer: server.config.issuer,
    });

    // A downstream workload replaces it with a narrower one for its own callees.
    const replaced = await client(orders).transactionToken({
      trustDomain: TRUST_DOMAIN,
      scope: 'trade.buy',
      subjectToken: first.accessToken,
      subjectTokenType: TOKEN_TYPE_TXN_TOKEN,
    });
    const narrower = await verify(replaced.accessToken);
    expect(narrower).toMatchObject({ txn: txn.txn, subject: 'alice', requestingWorkload: orders.id });
    expect(narrower.actors.map((actor) => actor.subject)).toEqual([orders.id, gateway.id]);
  });

  it('refuses a Txn-Token of another Trust Domain, or without a required scope', async () => {
    const alice = await idp.sign({ sub: 'alice', aud: gateway.id, scope: 'trade.read' });
    const { accessToken } = await client(gateway).transactionToken({
      trustDomain: TRUST_DOMAIN,
      scope: 'trade.read',
      subjectToken: alice,
    });
    expect((await refusal(verify(accessToken, { trustDomain: 'urn:trust-domain:other' }))).code).toBe(
      'token_audience_invalid',
    );
    expect((await refusal(verify(accessToken, { requiredScopes: ['trade.buy'] }))).code).toBe(
      'scope_insufficient',
    );
  });

  it('keeps access tokens and Txn-Tokens apart', async () => {
    const alice = await idp.sign({ sub: 'alice', aud: gateway.id, scope: 'trade.read' });
    const { accessToken: txnToken } = await client(gateway).transactionToken({
      trustDomain: TRUST_DOMAIN,
      scope: 'trade.read',
      subjectToken: alice,
    });
    const asAccessToken = await refusal(
      verifyAgentToken(txnToken, { issuer: server.config.issuer, audience: TRUST_DOMAIN, keys }),
    );
    expect(asAccessToken.code).toBe('token_type_invalid');

    const own = await client(orders).clientCredentials({ audience: gateway.id });
    expect((await refusal(verify(own.accessToken))).code).toBe('token_type_invalid');
  });

  it('surfaces the refusal of a widening request as an OAuthError', async () => {
    const alice = await idp.sign({ sub: 'alice', aud: gateway.id, scope: 'trade.read' });
    const error: unknown = await client(gateway)
      .transactionToken({ trustDomain: TRUST_DOMAIN, scope: 'trade.buy', subjectToken: alice })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ error: 'invalid_scope', status: 400 });
  });
});
