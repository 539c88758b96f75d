/**
 * Red team: the admin API's per-address limit (ADMIN_RATE_LIMIT) must hold however the path is
 * spelled. The router decodes percent-encoded characters (`/%61dmin/agents` is `/admin/agents`),
 * so a limit keyed on the raw URL text could be sidestepped while guessing admin credentials.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../helpers/server.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ env: { ADMIN_RATE_LIMIT: '2' } });
});

afterAll(async () => {
  await server.close();
});

describe('admin API limit per remote address', () => {
  it('counts requests to a percent-encoded admin path', async () => {
    const list = (path: string) =>
      fetch(`${server.baseUrl}${path}`, { headers: { authorization: 'Bearer guessed-admin-token' } });
    expect((await list('/admin/agents')).status).toBe(401);
    expect((await list('/admin/agents')).status).toBe(401);
    for (const path of ['/%61dmin/agents', '/adm%69n/agents', '/admin/%61gents']) {
      const limited = await list(path);
      expect(limited.status, path).toBe(429);
      expect(((await limited.json()) as { code: string }).code).toBe('rate_limited');
    }
  });
});
