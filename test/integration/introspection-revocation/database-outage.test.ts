/**
 * AV-01 / AV-02 at introspection and revocation: with PostgreSQL unreachable both endpoints fail
 * closed (503 `temporarily_unavailable` with Retry-After, never `active: true`, never 500), and
 * serve again once it returns.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentToken } from '../../helpers/oauth.js';
import { POSTGRES_OVER_TCP, unmet } from '../../helpers/requirements.js';
import { startTestServerBehindDatabaseProxy, type TcpProxy } from '../../helpers/tcp-proxy.js';
import type { TestServer } from '../../helpers/server.js';
import { createWorld, introspect, revoke, type World } from './helpers.js';

const databaseUrl = process.env.DATABASE_URL;

describe.skipIf(unmet(POSTGRES_OVER_TCP))('when the database goes away', () => {
  let proxy: TcpProxy;
  let server: TestServer;
  let world: World;
  let token: string;

  beforeAll(async () => {
    ({ server, proxy } = await startTestServerBehindDatabaseProxy(databaseUrl as string));
    world = await createWorld(server);
    token = (await agentToken(server, world.a, { audience: world.b.id })).token;
  });

  afterAll(async () => {
    proxy?.restore();
    await server?.close();
    await proxy?.close();
  });

  it('answers 503 at both endpoints, then recovers', async () => {
    expect((await introspect(server, world.b, token)).body.active).toBe(true);
    // Let the one-second registry cache lapse so the outage is met on the database.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    proxy.cut();

    for (const response of [await introspect(server, world.b, token), await revoke(server, world.b, token)]) {
      expect(response.status, response.text).toBe(503);
      expect(response.body.error).toBe('temporarily_unavailable');
      expect(response.headers.get('retry-after')).toBeTruthy();
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(response.text).not.toMatch(/stack|SELECT|UPDATE|prisma/i);
    }

    proxy.restore();
    let active: unknown;
    for (let attempt = 0; attempt < 20 && active !== true; attempt += 1) {
      active = (await introspect(server, world.b, token)).body.active;
      if (active !== true) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    // The revocation during the outage changed nothing.
    expect(active).toBe(true);
  });
});
