/**
 * Revocation (RFC 7009, CONTRACT §3.4) over real HTTP: revoking a token revokes its whole subtree
 * in the chain, and none of it is active or exchangeable again; who may revoke; RFC 7009's 200
 * for unknown tokens; the audit rows each revocation leaves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disableAgent, enableAgent } from '../../helpers/fixtures.js';
import {
  agentToken,
  auditSince,
  basicAuthorization,
  exchange,
  exchangeRequest,
  expectRefusedResponse,
  snapshot,
} from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import {
  buildChain,
  createWorld,
  expectOAuthError,
  isActive,
  postForm,
  revoke,
  type World,
} from './helpers.js';

let server: TestServer;
let world: World;

beforeAll(async () => {
  server = await startTestServer();
  world = await createWorld(server);
});

afterAll(async () => {
  await server?.close();
});

/** A revocation answer: 200, empty body, not cached. */
function expectRevocationAccepted(response: { status: number; text: string; headers: Headers }): void {
  expect(response.status, response.text).toBe(200);
  expect(response.text).toBe('');
  expect(response.headers.get('cache-control')).toBe('no-store');
}

describe('cascade over a three-hop chain (user → A → B → C → resource)', () => {
  it('revoking hop 1 makes hops 2 and 3 inactive and not exchangeable', async () => {
    const chain = await buildChain(server, world);
    expect(await isActive(server, world.c, chain.hop3)).toBe(true);

    const before = await snapshot(server);
    expectRevocationAccepted(await revoke(server, world.a, chain.hop1));

    // One audit row per revoked token, naming the rule and the revoking agent.
    const rows = await auditSince(server, before);
    expect(rows.map((row) => [row.decision, row.rule, row.clientId, row.jti, row.txn])).toEqual(
      expect.arrayContaining(
        chain.jtis.map((jti) => ['granted', 'token_revoked', world.a.id, jti, chain.txn]),
      ),
    );
    expect(rows).toHaveLength(3);

    expect(await isActive(server, world.b, chain.hop1)).toBe(false);
    expect(await isActive(server, world.c, chain.hop2)).toBe(false);
    expect(await isActive(server, world.c, chain.hop3)).toBe(false);
    expect(await isActive(server, world.a, chain.hop3)).toBe(false);

    // hop 2 was issued to C: exchanging it again is refused, audited, and issues nothing.
    const refusedAt = await snapshot(server);
    const response = await exchangeRequest(server, world.c, {
      subject_token: chain.hop2,
      resource: world.resource,
    });
    await expectRefusedResponse(server, refusedAt, response, {
      status: 400,
      error: 'invalid_request',
      rule: 'subject_token_revoked',
    });
    // Control: an untouched chain still works.
    const fresh = await buildChain(server, world);
    expect(await isActive(server, world.c, fresh.hop3)).toBe(true);
  });

  it('revoking hop 2 leaves hop 1 active and kills hop 3', async () => {
    const chain = await buildChain(server, world);
    expectRevocationAccepted(await revoke(server, world.c, chain.hop2));
    expect(await isActive(server, world.b, chain.hop1)).toBe(true);
    expect(await isActive(server, world.c, chain.hop2)).toBe(false);
    expect(await isActive(server, world.c, chain.hop3)).toBe(false);
    // B can still use hop 1: only the subtree below hop 2 is gone.
    const again = await exchange(server, world.b, { subject_token: chain.hop1, audience: world.c.id });
    expect(await isActive(server, world.c, again.token)).toBe(true);
  });

  it('a later actor may revoke its own hop; an earlier actor may revoke a later hop', async () => {
    const chain = await buildChain(server, world);
    expectRevocationAccepted(await revoke(server, world.a, chain.hop3));
    expect(await isActive(server, world.c, chain.hop3)).toBe(false);
    expect(await isActive(server, world.c, chain.hop2)).toBe(true);
  });

  it('revoking twice is harmless and writes nothing more', async () => {
    const chain = await buildChain(server, world);
    expectRevocationAccepted(await revoke(server, world.b, chain.hop2));
    const before = await snapshot(server);
    expectRevocationAccepted(await revoke(server, world.b, chain.hop2));
    expectRevocationAccepted(await revoke(server, world.b, chain.hop1));
    const rows = await auditSince(server, before);
    // hop 1 is newly revoked; hop 2 and hop 3 were already.
    expect(rows.map((row) => row.jti)).toEqual([chain.jtis[0]]);
  });
});

describe('who may revoke', () => {
  it('answers 200 to a stranger but revokes nothing, and audits the attempt', async () => {
    const chain = await buildChain(server, world);
    const before = await snapshot(server);
    expectRevocationAccepted(await revoke(server, world.stranger, chain.hop3));
    expect(await isActive(server, world.c, chain.hop3)).toBe(true);
    const rows = await auditSince(server, before);
    expect(rows.map((row) => [row.decision, row.rule, row.clientId, row.jti])).toEqual([
      ['denied', 'revocation_not_permitted', world.stranger.id, chain.jtis[2]],
    ]);
  });

  it('C cannot revoke hop 1, which was neither issued to it, by it, nor with it in the chain', async () => {
    const chain = await buildChain(server, world);
    expectRevocationAccepted(await revoke(server, world.c, chain.hop1));
    expect(await isActive(server, world.b, chain.hop1)).toBe(true);
  });

  it('the agent a token was issued to may revoke it', async () => {
    const own = await agentToken(server, world.a, { audience: world.b.id });
    expectRevocationAccepted(await revoke(server, world.b, own.token));
    expect(await isActive(server, world.a, own.token)).toBe(false);
  });
});

describe('RFC 7009 request handling', () => {
  it.each([
    ['garbage', 'not-a-token'],
    ['a JWT of no one', 'e30.e30.e30'],
  ])('answers 200 for %s and changes nothing', async (_name, token) => {
    const before = await snapshot(server);
    expectRevocationAccepted(await revoke(server, world.a, token));
    expect(await auditSince(server, before)).toEqual([]);
  });

  it("answers 200 for a trusted issuer's token", async () => {
    const chain = await buildChain(server, world);
    expectRevocationAccepted(await revoke(server, world.a, chain.user));
    expect(await isActive(server, world.c, chain.hop3)).toBe(true);
  });

  it('accepts the registered token_type_hint values and refuses others (unsupported_token_type)', async () => {
    const chain = await buildChain(server, world);
    const response = await revoke(server, world.a, chain.hop3, { token_type_hint: 'urn:example:saml' });
    expectOAuthError(response, 400, 'unsupported_token_type');
    expect(await isActive(server, world.c, chain.hop3)).toBe(true);
    expectRevocationAccepted(await revoke(server, world.a, chain.hop3, { token_type_hint: 'refresh_token' }));
    expect(await isActive(server, world.c, chain.hop3)).toBe(false);
    expectRevocationAccepted(await revoke(server, world.a, chain.hop2, { token_type_hint: 'access_token' }));
    expect(await isActive(server, world.c, chain.hop2)).toBe(false);
  });

  it('requires the token parameter and client authentication', async () => {
    const chain = await buildChain(server, world);
    expectOAuthError(
      await postForm(server, '/token/revocation', { token: chain.hop3 }),
      401,
      'invalid_client',
    );
    const wrong = await postForm(
      server,
      '/token/revocation',
      { token: chain.hop3 },
      { authorization: basicAuthorization(world.a.id, 'wrong') },
    );
    expectOAuthError(wrong, 401, 'invalid_client');
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic /);
    const missing = await postForm(
      server,
      '/token/revocation',
      {},
      { authorization: basicAuthorization(world.a.id, world.a.clientSecret ?? '') },
    );
    expectOAuthError(missing, 400, 'invalid_request');
    expect(await isActive(server, world.c, chain.hop3)).toBe(true);
  });
});

describe('disabled agents', () => {
  it('disabling an agent mid-chain makes its hops inactive until it is enabled again', async () => {
    const chain = await buildChain(server, world);
    await disableAgent(server, world.b.id);
    try {
      // hop 1's chain is A alone (B is only its audience); hops 2 and 3 hold B.
      expect(await isActive(server, world.a, chain.hop1)).toBe(true);
      expect(await isActive(server, world.c, chain.hop2)).toBe(false);
      expect(await isActive(server, world.c, chain.hop3)).toBe(false);
      expect(await isActive(server, world.a, chain.hop3)).toBe(false);
    } finally {
      await enableAgent(server, world.b.id);
    }
    expect(await isActive(server, world.c, chain.hop3)).toBe(true);
  });
});
