/**
 * Request shape, resource exhaustion and restarts at the token endpoint (SECURITY-CASES H, I):
 * oversized bodies, parameter floods, non-form bodies, unsupported grants, and a restart that
 * keeps agents, keys, and the tokens issued before it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  registerAgent,
  registerResource,
  registerTrustedIssuer,
  uniqueSuffix,
} from '../../helpers/fixtures.js';
import {
  agentToken,
  createExternalIssuer,
  credentials,
  encodeForm,
  exchange,
  exchangeRequest,
  GRANT_TOKEN_EXCHANGE,
  postToken,
  refusalChecker,
  requestToken,
  TOKEN_TYPE_ACCESS_TOKEN,
  verifyAsResourceServer,
  type ExternalIssuer,
  type TestAgent,
  type TokenResponse,
} from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

const suffix = uniqueSuffix();
const RESOURCE = `https://reports-${suffix}.example/api`;

let server: TestServer;
let idp: ExternalIssuer;
let agent: TestAgent;
let relay: TestAgent;
let userToken: string;
let expectRefusal: ReturnType<typeof refusalChecker>;

const IR = { status: 400, error: 'invalid_request', rule: 'invalid_parameters' } as const;
/** RL-01: a body over the limit (64 KiB) is refused with 413 before anything reads it. */
const TOO_LARGE = { ...IR, status: 413 } as const;

/** An exchange form by `agent` with `extra` appended as raw form text. */
async function rawExchange(extra: string): Promise<TokenResponse> {
  const { headers, fields } = await credentials(server, agent);
  const form = encodeForm({
    ...fields,
    grant_type: GRANT_TOKEN_EXCHANGE,
    subject_token: userToken,
    subject_token_type: TOKEN_TYPE_ACCESS_TOKEN,
  });
  return postToken(server, `${form}&${extra}`, headers);
}

beforeAll(async () => {
  server = await startTestServer();
  idp = await createExternalIssuer(`https://idp-${suffix}.example`);
  await registerTrustedIssuer(server, {
    issuer: idp.issuer,
    jwks: idp.jwks,
    audiences: [`https://sts-${suffix}.example`],
  });
  await registerResource(server, { id: RESOURCE, scopes: ['reports.read'] });
  agent = await registerAgent(server, {
    id: `rl-agent-${suffix}`,
    allowedScopes: ['reports.read'],
    allowedAudiences: [RESOURCE, `rl-relay-${suffix}`],
  });
  relay = await registerAgent(server, {
    id: `rl-relay-${suffix}`,
    allowedScopes: ['reports.read'],
    allowedAudiences: [RESOURCE],
  });
  userToken = await idp.sign({ sub: 'alice', aud: agent.id, scope: 'reports.read' }, { ttl: 900 });
  expectRefusal = refusalChecker(
    () => server,
    () => exchangeRequest(server, agent, { subject_token: userToken, audience: RESOURCE }),
  );
});

afterAll(async () => {
  await server?.close();
});

describe('request bodies (RL-01, RL-02)', () => {
  it('refuses a body over 64 KiB and issues nothing', async () => {
    await expectRefusal(
      () => rawExchange(`audience=${encodeURIComponent(RESOURCE)}&padding=${'a'.repeat(70 * 1024)}`),
      TOO_LARGE,
    );
  });

  it('refuses 10,000 audience parameters (over the body limit)', async () => {
    await expectRefusal(
      () => rawExchange(Array.from({ length: 10_000 }, () => 'audience=a').join('&')),
      TOO_LARGE,
    );
  });

  it('refuses thousands of audience parameters within the body limit as invalid_target', async () => {
    await expectRefusal(
      () => rawExchange(Array.from({ length: 3_000 }, (_, i) => `audience=${i}`).join('&')),
      {
        status: 400,
        error: 'invalid_target',
        rule: 'target_not_allowed',
      },
    );
  });

  it('refuses 10,000 scope tokens', async () => {
    await expectRefusal(
      () =>
        rawExchange(
          `audience=${encodeURIComponent(RESOURCE)}&scope=${Array.from({ length: 10_000 }, () => 'a').join('+')}`,
        ),
      IR,
    );
  });

  it('refuses a JSON body', async () => {
    const { headers, fields } = await credentials(server, agent);
    await expectRefusal(
      () =>
        fetch(`${server.baseUrl}/token`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify({
            ...fields,
            grant_type: GRANT_TOKEN_EXCHANGE,
            subject_token: userToken,
            subject_token_type: TOKEN_TYPE_ACCESS_TOKEN,
            audience: RESOURCE,
          }),
        }).then(async (response) => {
          const text = await response.text();
          return { status: response.status, headers: response.headers, text, body: JSON.parse(text) };
        }),
      IR,
    );
  });

  it.each([
    'password',
    'authorization_code',
    'refresh_token',
    'urn:ietf:params:oauth:grant-type:saml2-bearer',
    'implicit',
  ])('refuses grant_type %s as unsupported_grant_type', async (grantType) => {
    await expectRefusal(() => requestToken(server, agent, { grant_type: grantType, audience: RESOURCE }), {
      status: 400,
      error: 'unsupported_grant_type',
      rule: 'invalid_parameters',
    });
  });

  it('refuses a request without grant_type', async () => {
    await expectRefusal(() => requestToken(server, agent, { audience: RESOURCE }), IR);
  });
});

describe('methods (RFC 6749 §3.2)', () => {
  it.each(['GET', 'PUT', 'DELETE'])(
    'refuses %s at the token endpoint with 405 and Allow: POST',
    async (method) => {
      const response = await fetch(`${server.baseUrl}/token`, { method });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('POST');
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(await response.json()).toEqual({
        error: 'invalid_request',
        error_description: 'the token endpoint accepts POST only',
      });
    },
  );
});

describe('restart (AV-03)', () => {
  it('keeps agents, signing keys and the tokens issued before it', async () => {
    const jwksBefore = (await (await fetch(`${server.baseUrl}/jwks`)).json()) as { keys: { kid: string }[] };
    const own = await agentToken(server, agent, { audience: RESOURCE });
    const hop = await exchange(server, agent, { subject_token: userToken, audience: relay.id });

    server = await server.restart();

    const jwksAfter = (await (await fetch(`${server.baseUrl}/jwks`)).json()) as { keys: { kid: string }[] };
    expect(jwksAfter.keys.map((key) => key.kid).sort()).toEqual(jwksBefore.keys.map((key) => key.kid).sort());
    // A resource server that fetches the JWKS anew still accepts the old tokens.
    const { createRemoteJWKSet, jwtVerify } = await import('jose');
    const fresh = createRemoteJWKSet(new URL(`${server.baseUrl}/jwks`));
    await jwtVerify(own.token, fresh, { issuer: server.baseUrl, audience: RESOURCE, typ: 'at+jwt' });
    await verifyAsResourceServer(server, hop.token, relay.id);

    // Agents and their secrets survive; a pre-restart token still exchanges.
    const next = await exchange(server, relay, { subject_token: hop.token, audience: RESOURCE });
    expect(next.claims).toMatchObject({
      sub: 'alice',
      act: { sub: relay.id, act: { sub: agent.id } },
      txn: hop.claims.txn,
    });
    await agentToken(server, agent, { audience: RESOURCE });
  });
});
