/**
 * A key one instance activates is accepted at once by every other instance on the database, even
 * by one that missed the change feed's notice of it (ADR 0017), wherever one of this service's
 * tokens is presented: the first token naming its unknown kid makes the instance reload its keys
 * (rate-limited) instead of refusing it until the next periodic refresh. The token endpoint's side is in revocation.test.ts; here, introspection and the admin
 * API. Two servers need one PostgreSQL database: skipped on PGlite.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { adminApi, mintServiceToken, registerOperator, uniqueId } from '../admin/admin-client.js';
import { isActive } from '../introspection-revocation/helpers.js';
import { kidOf, registerChain, rotate, type Chain } from './helpers.js';

describe.runIf(process.env.DATABASE_URL)('a key activated on another instance', () => {
  let first: TestServer;
  let chain: Chain;
  let operator: string;

  beforeAll(async () => {
    // No delay: a rotation signs at once, before another instance could know of the key.
    first = await startTestServer({ env: { KEY_ROTATION_DELAY_SECONDS: '0' } });
    chain = await registerChain(first);
    operator = uniqueId('operator');
    await registerOperator(first, operator);
  });

  afterAll(async () => {
    await first?.close();
  });

  /**
   * A second instance on the same database and issuer, as behind a load balancer, reached at its
   * own address. Each case starts its own, so that no earlier refresh spends its rate limit.
   */
  async function startSecondInstance(): Promise<{ second: TestServer; atItsAddress: TestServer }> {
    const second = await startTestServer({
      keepData: true,
      env: { KEY_ROTATION_DELAY_SECONDS: '0', ISSUER: first.config.issuer, ADMIN_TOKEN: first.adminToken },
    });
    return { second, atItsAddress: { ...second, baseUrl: `http://127.0.0.1:${second.config.port}` } };
  }

  it.each<{
    place: string;
    token: () => Promise<string>;
    accepts: (server: TestServer, token: string) => Promise<boolean>;
  }>([
    {
      place: 'introspection',
      token: () => chain.tokenForB(),
      accepts: (server, token) => isActive(server, chain.agentB, token),
    },
    {
      place: 'the admin API',
      token: async () => {
        const scope = 'sts:admin';
        return (await mintServiceToken(first, { clientId: operator, aud: first.config.issuer, scope })).token;
      },
      accepts: async (server, token) => (await adminApi(server, token).get('/admin/agents')).status === 200,
    },
  ])('accepts its token at $place at once, refreshing on the unknown kid', async ({ token, accepts }) => {
    const { second, atItsAddress } = await startSecondInstance();
    // Without its change feed (ADR 0017), as while its LISTEN connection is down: only the
    // unknown kid can tell it of the key.
    await second.app.sts.changes.close();
    const refresh = vi.spyOn(second.app.sts.signingKeys, 'refresh');
    try {
      const next = await rotate(first);
      expect(next.state).toBe('active');
      const presented = await token();
      expect(kidOf(presented)).toBe(next.kid);
      expect(second.app.sts.keys().verification.has(next.kid)).toBe(false);

      expect(await accepts(atItsAddress, presented)).toBe(true);
      expect(refresh).toHaveBeenCalledTimes(1);
      expect(second.app.sts.keys().verification.has(next.kid)).toBe(true);
    } finally {
      refresh.mockRestore();
      await second.close();
    }
  });
});
