/**
 * Signing keys (CONTRACT §2, §4 `/admin/keys`; SECURITY-CASES G): the JWKS publishes public
 * halves only, with cache headers; rotation publishes the new key at once and signs with it
 * after KEY_ROTATION_DELAY_SECONDS; a retired key keeps verifying (as resource servers do, and
 * as a subject token here) until its grace has passed, then leaves the JWKS; keys survive a
 * restart; several instances on one database agree on one active key.
 */
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentToken, exchange, exchangeRequest, verifyAsResourceServer } from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { adminApi, expectProblem } from '../admin/admin-client.js';
import {
  GRACE_SECONDS,
  PRIVATE_MEMBERS,
  jwks,
  kidOf,
  listKeys,
  publishedKids,
  registerChain,
  rotate,
  type Chain,
  type KeyView,
} from './helpers.js';

describe('signing keys with KEY_ROTATION_DELAY_SECONDS=0', () => {
  let server: TestServer;
  let chain: Chain;

  beforeAll(async () => {
    server = await startTestServer({ env: { KEY_ROTATION_DELAY_SECONDS: '0' } });
    chain = await registerChain(server);
  });

  afterAll(async () => {
    await server?.close();
  });

  it('refuses GET /admin/keys and POST /admin/keys/rotate without admin credentials', async () => {
    const before = await publishedKids(server);
    expectProblem(await adminApi(server, null).get('/admin/keys'), 401, 'unauthorized');
    expectProblem(await adminApi(server, null).post('/admin/keys/rotate'), 401, 'unauthorized');
    expectProblem(
      await adminApi(server, 'not-the-admin-token').post('/admin/keys/rotate'),
      401,
      'unauthorized',
    );
    expect(await publishedKids(server)).toEqual(before);
  });

  it('refuses a rotation request with a body, rotating nothing', async () => {
    const before = await publishedKids(server);
    expectProblem(
      await adminApi(server).post('/admin/keys/rotate', { kid: 'chosen-by-me' }),
      400,
      'validation_failed',
    );
    expect(await publishedKids(server)).toEqual(before);
  });

  it('publishes only public members, with kid, alg, use and a max-age (KM-01)', async () => {
    const { keys, cacheControl } = await jwks(server);
    expect(cacheControl).toMatch(/max-age=\d+/);
    expect(keys.length).toBeGreaterThanOrEqual(1);
    for (const key of keys) {
      expect(key).toMatchObject({ kid: expect.any(String), alg: 'ES256', use: 'sig', kty: 'EC' });
      for (const member of PRIVATE_MEMBERS) expect(key).not.toHaveProperty(member);
    }
  });

  it('lists the keys with their state and public JWK only', async () => {
    const response = await adminApi(server).get('/admin/keys');
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const items = response.body.items as KeyView[];
    const active = items.filter((key) => key.state === 'active');
    expect(active).toHaveLength(1);
    expect(active[0]).toMatchObject({
      alg: 'ES256',
      published: true,
      activatedAt: expect.any(String),
      retiredAt: null,
      revokedAt: null,
      activatesAt: null,
    });
    expect(await publishedKids(server)).toContain(active[0]?.kid);
    for (const key of items) {
      for (const member of PRIVATE_MEMBERS) expect(key.publicJwk).not.toHaveProperty(member);
      expect(Object.keys(key).sort()).toEqual(
        [
          'activatedAt',
          'activatesAt',
          'alg',
          'createdAt',
          'kid',
          'published',
          'publicJwk',
          'retiredAt',
          'revokedAt',
          'state',
        ].sort(),
      );
    }
    expect(response.text).not.toMatch(/"d"\s*:|privateJwk|private_jwk|v1\.[A-Za-z0-9_-]+\./);
  });

  describe('a rotation', () => {
    let oldKid: string;
    let newKey: KeyView;
    let tokenBefore: string;

    beforeAll(async () => {
      tokenBefore = await chain.tokenForB();
      oldKid = kidOf(tokenBefore);
      newKey = await rotate(server);
    });

    it('publishes the new key at once and, with no delay, signs with it at once', async () => {
      expect(newKey.kid).not.toBe(oldKid);
      expect(newKey).toMatchObject({ state: 'active', published: true, activatedAt: expect.any(String) });
      const kids = await publishedKids(server);
      expect(kids).toContain(newKey.kid);
      expect(kids).toContain(oldKid);

      const keys = await listKeys(server);
      expect(keys.filter((key) => key.state === 'active').map((key) => key.kid)).toEqual([newKey.kid]);
      expect(keys.find((key) => key.kid === oldKid)).toMatchObject({
        state: 'retired',
        published: true,
        retiredAt: expect.any(String),
      });

      const { token } = await agentToken(server, chain.agentA, { audience: chain.idB });
      expect(kidOf(token)).toBe(newKey.kid);
      expect(await verifyAsResourceServer(server, token, chain.idB)).toMatchObject({ aud: chain.idB });
    });

    it('keeps a token signed before the rotation verifiable through the JWKS and exchangeable', async () => {
      // A resource server that never saw the old JWKS.
      const remote = createRemoteJWKSet(new URL(`${server.baseUrl}/jwks`));
      const { payload, protectedHeader } = await jwtVerify(tokenBefore, remote, {
        issuer: server.baseUrl,
        audience: chain.idB,
        typ: 'at+jwt',
      });
      expect(protectedHeader.kid).toBe(oldKid);
      expect(payload.client_id).toBe(chain.agentA.id);

      const exchanged = await exchange(server, chain.agentB, {
        subject_token: tokenBefore,
        resource: chain.resource,
      });
      expect(kidOf(exchanged.token)).toBe(newKey.kid);
      expect(exchanged.claims).toMatchObject({ aud: chain.resource, act: { sub: chain.agentB.id } });
      expect(await verifyAsResourceServer(server, exchanged.token, chain.resource)).toMatchObject({
        sub: chain.agentA.id,
      });
    });

    it('drops a retired key from the JWKS once its grace has passed, and stops trusting it', async () => {
      const tokenOfOldKey = await chain.tokenForB();
      expect(kidOf(tokenOfOldKey)).toBe(newKey.kid);
      // Its grace passes (simulated by ageing its retirement); the next refresh drops it.
      await server.database.prisma.signingKey.update({
        where: { kid: oldKid },
        data: { retiredAt: new Date(Date.now() - (GRACE_SECONDS + 1) * 1000) },
      });
      expect(await server.app.sts.signingKeys.refresh()).toBe(true);

      const kids = await publishedKids(server);
      expect(kids).not.toContain(oldKid);
      expect(kids).toContain(newKey.kid);
      expect((await listKeys(server)).find((key) => key.kid === oldKid)).toMatchObject({
        state: 'retired',
        published: false,
      });

      const remote = createRemoteJWKSet(new URL(`${server.baseUrl}/jwks`));
      await expect(jwtVerify(tokenBefore, remote, { issuer: server.baseUrl })).rejects.toThrow();
      const refused = await exchangeRequest(server, chain.agentB, {
        subject_token: tokenBefore,
        resource: chain.resource,
      });
      expect(refused.status).toBe(400);
      expect(refused.body.error).toBe('invalid_request');
      expect(refused.body).not.toHaveProperty('access_token');

      // Tokens of the current key are unaffected.
      await exchange(server, chain.agentB, { subject_token: tokenOfOldKey, resource: chain.resource });
    });

    it('reports no change when a refresh finds nothing to do', async () => {
      expect(await server.app.sts.signingKeys.refresh()).toBe(false);
    });
  });

  it('keeps every kid, and the tokens they signed, across a restart (AV-03)', async () => {
    const tokenBefore = await chain.tokenForB();
    const kidsBefore = (await publishedKids(server)).sort();
    server = await server.restart();
    expect((await publishedKids(server)).sort()).toEqual(kidsBefore);
    expect(kidOf((await agentToken(server, chain.agentA, { audience: chain.idB })).token)).toBe(
      kidOf(tokenBefore),
    );
    const remote = createRemoteJWKSet(new URL(`${server.baseUrl}/jwks`));
    await expect(
      jwtVerify(tokenBefore, remote, { issuer: server.baseUrl, audience: chain.idB }),
    ).resolves.toBeTruthy();
    await exchange(server, chain.agentB, { subject_token: tokenBefore, resource: chain.resource });
  });
});

describe('signing keys with KEY_ROTATION_DELAY_SECONDS=3600', () => {
  let server: TestServer;
  let chain: Chain;

  beforeAll(async () => {
    server = await startTestServer({ env: { KEY_ROTATION_DELAY_SECONDS: '3600' } });
    chain = await registerChain(server);
  });

  afterAll(async () => {
    await server?.close();
  });

  it('publishes the new key at once but keeps signing with the active key until the delay has passed (KM-02)', async () => {
    const activeKid = kidOf(await chain.tokenForB());
    const next = await rotate(server);
    expect(next).toMatchObject({ state: 'next', published: true, activatedAt: null, retiredAt: null });
    expect(Date.parse(next.activatesAt ?? '') - Date.parse(next.createdAt)).toBe(3600 * 1000);
    expect(await publishedKids(server)).toEqual(expect.arrayContaining([activeKid, next.kid]));

    const token = await chain.tokenForB();
    expect(kidOf(token)).toBe(activeKid);
    // A refresh before the delay changes nothing.
    expect(await server.app.sts.signingKeys.refresh()).toBe(false);
    expect(kidOf(await chain.tokenForB())).toBe(activeKid);

    // The delay passes (simulated by ageing the key): the next refresh promotes it.
    await server.database.prisma.signingKey.update({
      where: { kid: next.kid },
      data: { createdAt: new Date(Date.now() - 3601 * 1000) },
    });
    expect(await server.app.sts.signingKeys.refresh()).toBe(true);
    const promoted = kidOf(await chain.tokenForB());
    expect(promoted).toBe(next.kid);
    const keys = await listKeys(server);
    expect(keys.find((key) => key.kid === next.kid)).toMatchObject({ state: 'active', activatesAt: null });
    expect(keys.find((key) => key.kid === activeKid)).toMatchObject({ state: 'retired', published: true });

    // The token of the retired key still verifies and still exchanges.
    await verifyAsResourceServer(server, token, chain.idB);
    const exchanged = await exchange(server, chain.agentB, {
      subject_token: token,
      resource: chain.resource,
    });
    expect(kidOf(exchanged.token)).toBe(next.kid);
  });

  it.runIf(process.env.DATABASE_URL)(
    'shares rotations between instances on one database and promotes exactly once',
    async () => {
      const second = await startTestServer({ keepData: true, env: { KEY_ROTATION_DELAY_SECONDS: '3600' } });
      try {
        const next = await rotate(server);
        // The other instance hears of the new key from the change feed (ADR 0017), at the latest at
        // its next refresh.
        await second.app.sts.signingKeys.refresh();
        expect(await publishedKids(second)).toContain(next.kid);
        expect(second.app.sts.keys().active.kid).toBe(server.app.sts.keys().active.kid);

        await server.database.prisma.signingKey.update({
          where: { kid: next.kid },
          data: { createdAt: new Date(Date.now() - 3601 * 1000) },
        });
        // Both instances find the key due at the same moment: the advisory lock lets one promote.
        await Promise.all([server.app.sts.signingKeys.refresh(), second.app.sts.signingKeys.refresh()]);
        const rows = await server.database.prisma.signingKey.findMany({ where: { state: 'active' } });
        expect(rows.map((row) => row.kid)).toEqual([next.kid]);
        expect(server.app.sts.keys().active.kid).toBe(next.kid);
        expect(second.app.sts.keys().active.kid).toBe(next.kid);
      } finally {
        await second.close();
      }
    },
  );
});
