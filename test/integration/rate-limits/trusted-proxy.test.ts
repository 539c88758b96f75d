/**
 * TRUST_PROXY (CONTRACT §1): the per-address limits count by the address the nearest untrusted
 * hop presented. Behind one trusted proxy that is the value the proxy appended (the rightmost),
 * never a value the client wrote itself, so rotating a spoofed X-Forwarded-For does not escape
 * the limit. Without TRUST_PROXY the header is ignored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../helpers/server.js';

const LIMIT = '2';

/** An unauthenticated token request as it reaches the service through the proxy (or not). */
function tokenRequest(server: TestServer, forwardedFor?: string): Promise<Response> {
  return fetch(`${server.baseUrl}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }),
    },
    body: 'grant_type=client_credentials&client_id=nobody&client_secret=nothing',
  });
}

async function statuses(server: TestServer, forwardedFor: readonly string[]): Promise<number[]> {
  const result: number[] = [];
  for (const value of forwardedFor) result.push((await tokenRequest(server, value)).status);
  return result;
}

describe.each([
  ['a hop count', '1'],
  ['a list holding the proxy address', '10.0.0.0/8, 127.0.0.1'],
])('behind one trusted proxy given as %s', (_name, trustProxy) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({
      env: { TRUST_PROXY: trustProxy, TOKEN_RATE_LIMIT_PER_ADDRESS: LIMIT },
    });
  });

  afterAll(async () => {
    await server?.close();
  });

  it('limits a client by the address the proxy appended, however it rotates the value it writes', async () => {
    // The client (203.0.113.7) writes a fresh leftmost value each time; the proxy appends what it saw.
    expect(
      await statuses(server, [
        '198.51.100.1, 203.0.113.7',
        '198.51.100.2, 203.0.113.7',
        '198.51.100.3, 203.0.113.7',
        '203.0.113.7',
      ]),
    ).toEqual([401, 401, 429, 429]);
  });

  it('gives another client behind the same proxy its own budget', async () => {
    expect(await statuses(server, ['203.0.113.8', '198.51.100.1, 203.0.113.8'])).toEqual([401, 401]);
    expect((await tokenRequest(server, '203.0.113.8')).status).toBe(429);
  });
});

describe('with no trusted proxy', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ env: { TOKEN_RATE_LIMIT_PER_ADDRESS: LIMIT } });
  });

  afterAll(async () => {
    await server?.close();
  });

  it('ignores X-Forwarded-For: every value counts against the connecting address', async () => {
    expect(await statuses(server, ['203.0.113.7', '198.51.100.1, 203.0.113.8', '203.0.113.9'])).toEqual([
      401, 401, 429,
    ]);
  });
});
