/**
 * Emergency revocation of a signing key (CONTRACT §4 `/admin/keys`; SECURITY-CASES KM-02 "emergency
 * revoke removes the key and no further signing with it"): the key leaves the JWKS at once, never
 * signs again, and tokens it signed stop verifying as subject tokens and at introspection. Revoking
 * the active key activates a new one at once, whatever KEY_ROTATION_DELAY_SECONDS says. Other
 * instances on the database honour a revocation at their next key refresh, and accept a key another
 * instance has just activated without waiting for it.
 */
import { createHash } from 'node:crypto';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  agentToken,
  exchange,
  exchangeRequest,
  expectRefusedResponse,
  snapshot,
  verifyAsResourceServer,
} from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { adminApi, expectProblem, type ApiResponse } from '../admin/admin-client.js';
import { isActive } from '../introspection-revocation/helpers.js';
import {
  kidOf,
  listKeys,
  publishedKids,
  registerChain,
  rotate,
  type Chain,
  type KeyView,
} from './helpers.js';

/** Long enough that only an emergency can make a key sign before a test ends. */
const DELAY_SECONDS = '3600';
const SUBJECT_TOKEN_INVALID = { status: 400, error: 'invalid_request', rule: 'subject_token_invalid' };

function revokePath(kid: string): string {
  return `/admin/keys/${encodeURIComponent(kid)}/revoke`;
}

async function revokeKey(server: TestServer, kid: string): Promise<{ revoked: KeyView; active: KeyView }> {
  const response = await adminApi(server).post(revokePath(kid));
  expect(response.status, response.text).toBe(200);
  expect(response.headers.get('cache-control')).toBe('no-store');
  expect(response.text).not.toMatch(/"d"\s*:|privateJwk|private_jwk/);
  return response.body as { revoked: KeyView; active: KeyView };
}

/** What a resource server that fetches the JWKS now concludes about `token`. */
async function verifiesAtResourceServer(server: TestServer, token: string): Promise<boolean> {
  const remote = createRemoteJWKSet(new URL(`${server.baseUrl}/jwks`));
  return jwtVerify(token, remote, { issuer: server.config.issuer, typ: 'at+jwt' }).then(
    () => true,
    () => false,
  );
}

/** The exchange of a token the revoked key signed: refused, audited, nothing issued. */
async function expectSubjectTokenRefused(server: TestServer, chain: Chain, token: string): Promise<void> {
  const before = await snapshot(server);
  const response = await exchangeRequest(server, chain.agentB, {
    subject_token: token,
    resource: chain.resource,
  });
  await expectRefusedResponse(server, before, response, SUBJECT_TOKEN_INVALID);
}

/** Ages a `next` key past the rotation delay, as the clock would. */
async function ageKey(server: TestServer, kid: string): Promise<void> {
  await server.database.prisma.signingKey.update({
    where: { kid },
    data: { createdAt: new Date(Date.now() - (Number(DELAY_SECONDS) + 1) * 1000) },
  });
}

describe('POST /admin/keys/{kid}/revoke', () => {
  let server: TestServer;
  let chain: Chain;

  beforeAll(async () => {
    server = await startTestServer({ env: { KEY_ROTATION_DELAY_SECONDS: DELAY_SECONDS } });
    chain = await registerChain(server);
  });

  afterAll(async () => {
    await server?.close();
  });

  it('refuses a revocation without admin credentials, revoking nothing', async () => {
    const kid = server.app.sts.keys().active.kid;
    const keysBefore = await listKeys(server);
    for (const response of [
      await adminApi(server, null).post(revokePath(kid)),
      await adminApi(server, 'not-the-admin-token').post(revokePath(kid)),
    ]) {
      expectProblem(response, 401, 'unauthorized');
    }
    expect(await listKeys(server)).toEqual(keysBefore);
    expect(await publishedKids(server)).toContain(kid);
    expect(kidOf(await chain.tokenForB())).toBe(kid);
  });

  it('answers 404 for a kid it does not hold', async () => {
    const keysBefore = await listKeys(server);
    expectProblem(await adminApi(server).post(revokePath('no-such-kid')), 404, 'not_found');
    expect(await listKeys(server)).toEqual(keysBefore);
  });

  it('refuses a revocation request with a body, revoking nothing', async () => {
    const kid = server.app.sts.keys().active.kid;
    expectProblem(
      await adminApi(server).post(revokePath(kid), { reason: 'leaked' }),
      400,
      'validation_failed',
    );
    expect((await listKeys(server)).find((key) => key.kid === kid)?.state).toBe('active');
  });

  describe('of the active key', () => {
    let revokedKid: string;
    let tokenOfRevokedKey: string;
    let answer: { revoked: KeyView; active: KeyView };

    beforeAll(async () => {
      tokenOfRevokedKey = await chain.tokenForB();
      revokedKid = kidOf(tokenOfRevokedKey);
      // Before: the token is alive everywhere.
      expect(await isActive(server, chain.agentB, tokenOfRevokedKey)).toBe(true);
      expect(await verifiesAtResourceServer(server, tokenOfRevokedKey)).toBe(true);
      answer = await revokeKey(server, revokedKid);
    });

    it('answers with the revoked key and a new active key, which signs at once despite the delay', async () => {
      expect(answer.revoked).toMatchObject({
        kid: revokedKid,
        state: 'revoked',
        published: false,
        revokedAt: expect.any(String),
      });
      expect(answer.active).toMatchObject({ state: 'active', published: true, revokedAt: null });
      expect(answer.active.kid).not.toBe(revokedKid);

      const keys = await listKeys(server);
      expect(keys.filter((key) => key.state === 'active').map((key) => key.kid)).toEqual([answer.active.kid]);
      expect(keys.find((key) => key.kid === revokedKid)).toMatchObject({
        state: 'revoked',
        published: false,
      });

      const { token } = await agentToken(server, chain.agentA, { audience: chain.idB });
      expect(kidOf(token)).toBe(answer.active.kid);
      expect(await verifiesAtResourceServer(server, token)).toBe(true);
      await exchange(server, chain.agentB, { subject_token: token, resource: chain.resource });
    });

    it('takes the key out of the JWKS at once', async () => {
      const kids = await publishedKids(server);
      expect(kids).not.toContain(revokedKid);
      expect(kids).toContain(answer.active.kid);
      expect(await verifiesAtResourceServer(server, tokenOfRevokedKey)).toBe(false);
    });

    it('refuses a token it signed as a subject token (400 invalid_request, audited)', async () => {
      // Lineage still holds the token's exact digest (ADR 0028): the key's revocation alone refuses it.
      const row = await server.database.prisma.issuedToken.findUniqueOrThrow({
        where: { jti: String(decodeJwt(tokenOfRevokedKey).jti) },
      });
      expect(row.tokenDigest && Buffer.from(row.tokenDigest)).toEqual(
        createHash('sha256').update(tokenOfRevokedKey).digest(),
      );
      await expectSubjectTokenRefused(server, chain, tokenOfRevokedKey);
    });

    it('answers inactive at introspection for a token it signed', async () => {
      expect(await isActive(server, chain.agentB, tokenOfRevokedKey)).toBe(false);
    });

    it('answers 409 when the key is revoked again, changing nothing', async () => {
      const keysBefore = await listKeys(server);
      expectProblem(await adminApi(server).post(revokePath(revokedKid)), 409, 'conflict');
      expect(await listKeys(server)).toEqual(keysBefore);
    });

    it('never brings the key back: not at a refresh, not after a restart', async () => {
      await server.app.sts.signingKeys.refresh();
      server = await server.restart();
      expect(await publishedKids(server)).not.toContain(revokedKid);
      expect(server.app.sts.keys().verification.has(revokedKid)).toBe(false);
      expect(kidOf(await chain.tokenForB())).toBe(answer.active.kid);
      await expectSubjectTokenRefused(server, chain, tokenOfRevokedKey);
    });
  });

  describe('of a retired key', () => {
    it('takes it out of the JWKS and refuses its tokens, leaving the active key signing', async () => {
      const tokenOfRetiredKey = await chain.tokenForB();
      const retiredKid = kidOf(tokenOfRetiredKey);
      const next = await rotate(server);
      await ageKey(server, next.kid);
      expect(await server.app.sts.signingKeys.refresh()).toBe(true);
      expect((await listKeys(server)).find((key) => key.kid === retiredKid)).toMatchObject({
        state: 'retired',
        published: true,
      });
      // Within its grace a retired key's tokens still exchange...
      await exchange(server, chain.agentB, { subject_token: tokenOfRetiredKey, resource: chain.resource });

      // ...until it is revoked.
      const answer = await revokeKey(server, retiredKid);
      expect(answer.revoked).toMatchObject({ kid: retiredKid, state: 'revoked', published: false });
      expect(answer.active.kid).toBe(next.kid);
      expect(await publishedKids(server)).not.toContain(retiredKid);
      await expectSubjectTokenRefused(server, chain, tokenOfRetiredKey);
      expect(await isActive(server, chain.agentB, tokenOfRetiredKey)).toBe(false);

      const { token } = await agentToken(server, chain.agentA, { audience: chain.idB });
      expect(kidOf(token)).toBe(next.kid);
      await verifyAsResourceServer(server, token, chain.idB);
    });
  });

  describe('of a next key', () => {
    it('takes it out of the JWKS and never lets it sign, even once its delay has passed', async () => {
      const activeKid = server.app.sts.keys().active.kid;
      const next = await rotate(server);
      expect(await publishedKids(server)).toContain(next.kid);
      const answer = await revokeKey(server, next.kid);
      expect(answer.revoked).toMatchObject({ kid: next.kid, state: 'revoked', activatesAt: null });
      expect(answer.active.kid).toBe(activeKid);
      expect(await publishedKids(server)).not.toContain(next.kid);

      await ageKey(server, next.kid);
      await server.app.sts.signingKeys.refresh();
      expect(server.app.sts.keys().active.kid).toBe(activeKid);
      expect(kidOf(await chain.tokenForB())).toBe(activeKid);
    });
  });
});

describe.runIf(process.env.DATABASE_URL)('key revocation and activation across instances', () => {
  let first: TestServer;
  let second: TestServer;
  /** The second instance at its own address: both share one issuer, as behind a load balancer. */
  let secondAtItsAddress: TestServer;
  let chain: Chain;

  beforeAll(async () => {
    // No delay: a rotation on the first instance signs at once, before the second could know of it.
    first = await startTestServer({ env: { KEY_ROTATION_DELAY_SECONDS: '0' } });
    second = await startTestServer({
      keepData: true,
      env: {
        KEY_ROTATION_DELAY_SECONDS: '0',
        ISSUER: first.config.issuer,
        ADMIN_TOKEN: first.adminToken,
      },
    });
    secondAtItsAddress = { ...second, baseUrl: `http://127.0.0.1:${second.config.port}` };
    // These cases are about the safety nets, for when the change feed's notice is missed (ADR
    // 0017): without its feed, the second instance learns of key changes only through them.
    await second.app.sts.changes.close();
    chain = await registerChain(first);
  });

  afterAll(async () => {
    await second?.close();
    await first?.close();
  });

  it('accepts a token of a key another instance has just activated, refreshing on its unknown kid', async () => {
    const next = await rotate(first);
    expect(next.state).toBe('active');
    const token = await chain.tokenForB();
    expect(kidOf(token)).toBe(next.kid);

    const refresh = vi.spyOn(second.app.sts.signingKeys, 'refresh');
    try {
      const exchanged = await exchange(secondAtItsAddress, chain.agentB, {
        subject_token: token,
        resource: chain.resource,
      });
      expect(refresh).toHaveBeenCalled();
      // The refresh also moved the second instance on to the new key.
      expect(kidOf(exchanged.token)).toBe(next.kid);
      expect(second.app.sts.keys().active.kid).toBe(next.kid);
    } finally {
      refresh.mockRestore();
    }
  });

  it('honours a revocation made on another instance at its next refresh', async () => {
    const token = await chain.tokenForB();
    const revokedKid = kidOf(token);
    const answer = await revokeKey(first, revokedKid);

    await second.app.sts.signingKeys.refresh();
    expect(second.app.sts.keys().active.kid).toBe(answer.active.kid);
    expect(await publishedKids(secondAtItsAddress)).not.toContain(revokedKid);
    await expectSubjectTokenRefused(secondAtItsAddress, chain, token);
    expect(await isActive(secondAtItsAddress, chain.agentB, token)).toBe(false);
    const { token: fresh } = await agentToken(secondAtItsAddress, chain.agentA, { audience: chain.idB });
    expect(kidOf(fresh)).toBe(answer.active.kid);
  });

  it('answers 409 on either instance once a key is revoked', async () => {
    const revoked = (await listKeys(first)).find((key) => key.state === 'revoked');
    expect(revoked).toBeDefined();
    const response: ApiResponse = await adminApi(secondAtItsAddress).post(revokePath(revoked?.kid ?? ''));
    expectProblem(response, 409, 'conflict');
  });
});
