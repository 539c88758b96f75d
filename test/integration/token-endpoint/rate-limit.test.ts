/**
 * Per-client rate limit of the token endpoint (CONTRACT §1 TOKEN_RATE_LIMIT, SECURITY-CASES H):
 * the request over the limit gets 429 with Retry-After and an OAuth-style JSON error, issues
 * nothing, and leaves other clients alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAgent, registerResource, uniqueSuffix } from '../../helpers/fixtures.js';
import {
  agentToken,
  expectRefusedResponse,
  requestToken,
  snapshot,
  type TestAgent,
} from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

const suffix = uniqueSuffix();
const RESOURCE = `https://limited-${suffix}.example/api`;

let server: TestServer;
let busy: TestAgent;
let quiet: TestAgent;

beforeAll(async () => {
  server = await startTestServer({
    // The per-address limit would otherwise be 10 × 3 and trip first.
    env: { TOKEN_RATE_LIMIT: '3', TOKEN_RATE_LIMIT_PER_ADDRESS: '100000' },
  });
  await registerResource(server, { id: RESOURCE, scopes: ['limited.read'] });
  const agent = { allowedScopes: ['limited.read'], allowedAudiences: [RESOURCE] };
  busy = await registerAgent(server, { id: `busy-${suffix}`, ...agent });
  quiet = await registerAgent(server, { id: `quiet-${suffix}`, ...agent });
});

afterAll(async () => {
  await server?.close();
});

describe('per-client rate limit', () => {
  it('answers the fourth request of a client within a minute with 429 and Retry-After', async () => {
    for (let request = 0; request < 3; request += 1) await agentToken(server, busy);

    const before = await snapshot(server);
    const limited = await requestToken(server, busy, { grant_type: 'client_credentials' });
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.body.error).toEqual(expect.any(String));
    await expectRefusedResponse(server, before, limited, {
      status: 429,
      error: String(limited.body.error),
      rule: 'rate_limited',
    });

    // Another client is not affected.
    const other = await agentToken(server, quiet);
    expect(other.claims.sub).toBe(quiet.id);
  });
});
