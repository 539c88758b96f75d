/**
 * Issue #6 (hostile traffic): nothing an unauthenticated caller sends grows memory without bound.
 * Every path by which a request value used to key the registry cache is flooded with distinct,
 * large values, and the heap of this process (the server runs in it) is measured after a full GC
 * before and after the flood. A value that cannot name a registry entry (CONTRACT §4 id shapes)
 * is refused without being looked up, so the heap stays flat; before, every miss stayed cached
 * until an admin write, and each flood below added tens of megabytes.
 */
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  registerAgent,
  registerResource,
  registerTrustedIssuer,
  uniqueSuffix,
} from '../../helpers/fixtures.js';
import {
  basicAuthorization,
  createExternalIssuer,
  encodeForm,
  expectRefusedResponse,
  exchangeRequest,
  postToken,
  requestToken,
  snapshot,
  type ExternalIssuer,
  type Form,
  type TestAgent,
  type TokenResponse,
} from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * The stated bound: what one flood may leave on the heap. Measured noise with the bounds in place
 * is under 3 MB; without them each flood below carries at least 12 MB of distinct ids, and the
 * cache kept them.
 */
const MAX_GROWTH_BYTES = 5 * 1024 * 1024;
/** Requests in flight at once during a flood. */
const CONCURRENCY = 16;
/** The largest ids each channel carries: a 64 KiB body, a 16 KiB header section, a 16 KiB token. */
const BODY_ID_LENGTH = 40_000;
const HEADER_ID_LENGTH = 11_000;
const ISSUER_ID_LENGTH = 12_000;
/** A flood takes seconds on a loaded machine: more than the default test timeout. */
const FLOOD_TIMEOUT_MS = 120_000;

const suffix = uniqueSuffix();
const RESOURCE = `https://api-${suffix}.example/`;
const STS_AUDIENCE = `https://sts-${suffix}.example`;

let server: TestServer;
let agent: TestAgent;
let idp: ExternalIssuer;

/** A distinct id of `length` characters, of the agent-id charset so only its length is wrong. */
function distinctId(length: number): string {
  const unique = `${randomBytes(8).toString('hex')}-`;
  return unique + 'x'.repeat(length - unique.length);
}

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Sends `count` requests made by `send`, CONCURRENCY at a time; each must be refused as `check` says. */
async function flood(count: number, send: () => Promise<TokenResponse>, check: (r: TokenResponse) => void) {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next += 1;
      check(await send());
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

/** Heap growth over one flood, after a warm-up of the same requests so code and pools are settled. */
async function heapGrowth(
  count: number,
  send: () => Promise<TokenResponse>,
  check: (r: TokenResponse) => void,
) {
  await flood(30, send, check);
  const before = heapAfterGc();
  await flood(count, send, check);
  return heapAfterGc() - before;
}

function expectStatus(status: number, error: string) {
  return (response: TokenResponse) => {
    if (response.status !== status || response.body.error !== error) {
      throw new Error(`expected ${status} ${error}, got ${response.status} ${response.text}`);
    }
  };
}

async function postIntrospection(form: Form): Promise<TokenResponse> {
  const response = await fetch(`${server.baseUrl}/token/introspection`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: encodeForm(form),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: JSON.parse(text), text };
}

/** A compact JWS whose claims name `iss`; its signature is never reached. */
function tokenFromIssuer(iss: string): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'ES256', typ: 'at+jwt', kid: 'k' })}.${part({ iss, sub: 'u', exp: 2e9 })}.c2ln`;
}

beforeAll(async () => {
  server = await startTestServer({
    // The floods come from one address and one agent: only the caches are under test here.
    env: { TOKEN_RATE_LIMIT: '1000000', TOKEN_RATE_LIMIT_PER_ADDRESS: '10000000' },
  });
  await registerResource(server, { id: RESOURCE, scopes: ['data.read'] });
  agent = await registerAgent(server, {
    id: `flood-${suffix}`,
    tokenEndpointAuthMethod: 'client_secret_post',
    allowedScopes: ['data.read'],
    allowedAudiences: [RESOURCE],
  });
  idp = await createExternalIssuer(`https://idp-${suffix}.example`);
  await registerTrustedIssuer(server, { issuer: idp.issuer, jwks: idp.jwks, audiences: [STS_AUDIENCE] });
});

afterAll(async () => {
  await server?.close();
});

describe('a flood of distinct ids leaves the heap bounded', () => {
  it('refuses a client_id longer than an agent id as invalid_client, audited, nothing issued', async () => {
    const before = await snapshot(server);
    const response = await postToken(server, {
      grant_type: 'client_credentials',
      client_id: distinctId(201),
      client_secret: 'guess',
    });
    await expectRefusedResponse(server, before, response, {
      status: 401,
      error: 'invalid_client',
      rule: 'client_authentication_failed',
    });
    // The same answer as for an unknown id of a valid shape: the length tells nothing.
    const unknown = await postToken(server, {
      grant_type: 'client_credentials',
      client_id: `unknown-${suffix}`,
      client_secret: 'guess',
    });
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual(response.body);
    // Introspection answers both alike too.
    const [long, short] = await Promise.all(
      [distinctId(201), `unknown-${suffix}`].map((clientId) =>
        postIntrospection({ client_id: clientId, client_secret: 'guess', token: 'x' }),
      ),
    );
    expect(long?.status).toBe(401);
    expect(long?.body).toEqual(short?.body);
    // A valid request right after still succeeds.
    const control = await requestToken(server, agent, { grant_type: 'client_credentials' });
    expect(control.status, control.text).toBe(200);
  });

  /**
   * Each way a request value reached the registry cache: how many requests, what each sends. The
   * channels that carry the smallest ids go first, before buffers sized by the large ones exist.
   */
  const floods: ReadonlyArray<{
    readonly channel: string;
    readonly count: number;
    readonly send: () => Promise<TokenResponse>;
    readonly check: (response: TokenResponse) => void;
  }> = [
    {
      channel: "a subject token's unverified iss",
      count: 1_000,
      send: () =>
        exchangeRequest(server, agent, {
          subject_token: tokenFromIssuer(`https://${distinctId(ISSUER_ID_LENGTH)}.example`),
          audience: RESOURCE,
        }),
      check: expectStatus(400, 'invalid_request'),
    },
    {
      channel: 'the HTTP Basic user name',
      count: 1_100,
      send: () =>
        postToken(
          server,
          { grant_type: 'client_credentials' },
          { authorization: basicAuthorization(distinctId(HEADER_ID_LENGTH), 'guess') },
        ),
      check: expectStatus(401, 'invalid_client'),
    },
    {
      channel: 'the token endpoint client_id (client_secret_post)',
      count: 300,
      send: () =>
        postToken(server, {
          grant_type: 'client_credentials',
          client_id: distinctId(BODY_ID_LENGTH),
          client_secret: 'guess',
        }),
      check: expectStatus(401, 'invalid_client'),
    },
    {
      channel: 'the introspection client_id',
      count: 250,
      send: () =>
        postIntrospection({ client_id: distinctId(BODY_ID_LENGTH), client_secret: 'guess', token: 'x' }),
      check: expectStatus(401, 'invalid_client'),
    },
    {
      channel: 'the audience parameter of an authenticated agent',
      count: 300,
      send: () =>
        requestToken(server, agent, {
          grant_type: 'client_credentials',
          audience: distinctId(BODY_ID_LENGTH),
        }),
      check: expectStatus(400, 'invalid_target'),
    },
    {
      channel: "a trusted issuer's subject token addressed to many distinct values",
      count: 100,
      send: async () =>
        exchangeRequest(server, agent, {
          subject_token: await idp.sign({
            sub: 'alice',
            scope: 'data.read',
            aud: Array.from({ length: 20 }, () => distinctId(500)),
          }),
          audience: RESOURCE,
        }),
      check: expectStatus(400, 'invalid_request'),
    },
  ];

  it.each(floods)(
    'through $channel',
    async ({ count, send, check }) => {
      const growth = await heapGrowth(count, send, check);
      expect(growth, `heap grew by ${(growth / 2 ** 20).toFixed(1)} MiB`).toBeLessThan(MAX_GROWTH_BYTES);
    },
    FLOOD_TIMEOUT_MS,
  );
});
