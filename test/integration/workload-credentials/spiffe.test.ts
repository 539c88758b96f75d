/**
 * Agents without static secrets, SPIFFE (ADR 0023, draft-ietf-oauth-spiffe-client-auth §3.1): an
 * agent registered with a SPIFFE ID authenticates with its JWT-SVID as the client assertion,
 * verified against its trust domain's bundle served by a real bundle endpoint. Every refusal is
 * the one uniform invalid_client (ADR 0011) with the precise reason in the audit row, and issues
 * nothing; every RFC 10070 rule of a client assertion still holds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  disableAgent,
  registerResource,
  registerTrustedIssuer,
  uniqueSuffix,
} from '../../helpers/fixtures.js';
import { startJwksServer, type JwksServer } from '../../helpers/jwks-server.js';
import {
  auditSince,
  basicAuthorization,
  CLIENT_ASSERTION_TYPE,
  createExternalIssuer,
  decodeJwt,
  GRANT_TOKEN_EXCHANGE,
  TOKEN_TYPE_ACCESS_TOKEN,
  expectRefusedResponse,
  postToken,
  snapshot,
  type TokenResponse,
} from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import {
  adminCall,
  adminCreate,
  JWT_SPIFFE_ASSERTION_TYPE,
  newKey,
  spiffeAuthority,
  type SpiffeAuthority,
  type TokenOptions,
} from '../../helpers/workload.js';
import { postForm } from '../introspection-revocation/helpers.js';

const suffix = uniqueSuffix();
const RESOURCE = `https://api-${suffix}.example/`;
const SCOPE = 'data.read';
const TRUST_DOMAIN = `prod-${suffix}.example.org`;
const WORKLOAD_PATH = '/ns/agents/sa/planner';
const AGENT = `planner-${suffix}`;
const OTHER_AGENT = `reviewer-${suffix}`;

let server: TestServer;
let authority: SpiffeAuthority;
let bundle: Record<string, unknown>;
let bundleServer: JwksServer;
let trustDomainId: string;

beforeAll(async () => {
  server = await startTestServer({ env: { ALLOW_LOOPBACK_HTTP_JWKS: 'true' } });
  authority = await spiffeAuthority(TRUST_DOMAIN);
  bundle = authority.bundle();
  bundleServer = await startJwksServer(bundle);
  await registerResource(server, { id: RESOURCE, scopes: [SCOPE] });
  const domain = await adminCreate(server, '/admin/spiffe-trust-domains', {
    trustDomain: TRUST_DOMAIN,
    bundleEndpointUrl: bundleServer.url,
  });
  trustDomainId = String(domain.id);
  for (const [id, path] of [
    [AGENT, WORKLOAD_PATH],
    [OTHER_AGENT, '/ns/agents/sa/reviewer'],
  ] as const) {
    const agent = await adminCreate(server, '/admin/agents', {
      id,
      name: id,
      tokenEndpointAuthMethod: 'jwt_spiffe',
      spiffeId: `spiffe://${TRUST_DOMAIN}${path}`,
      allowedScopes: [SCOPE],
      allowedAudiences: [RESOURCE],
    });
    expect(agent).not.toHaveProperty('clientSecret');
  }
});

afterAll(async () => {
  await server?.close();
  await bundleServer?.close();
});

const svid = (options: TokenOptions = {}, path = WORKLOAD_PATH) =>
  authority.svid(path, server.baseUrl, options);

async function tokenRequest(assertion: string, extra: Record<string, string> = {}): Promise<TokenResponse> {
  return postToken(server, {
    grant_type: 'client_credentials',
    audience: RESOURCE,
    client_assertion_type: JWT_SPIFFE_ASSERTION_TYPE,
    client_assertion: assertion,
    ...extra,
  });
}

/** The refusal, its one audit row with the precise reason, nothing issued; then a valid request works. */
async function expectRefused(
  send: () => Promise<TokenResponse>,
  reason: string,
  expected: { status: number; error: string; rule: string } = {
    status: 401,
    error: 'invalid_client',
    rule: 'client_authentication_failed',
  },
): Promise<void> {
  const before = await snapshot(server);
  const response = await send();
  await expectRefusedResponse(server, before, response, expected);
  if (expected.error === 'invalid_client') {
    expect(response.body.error_description).toBe('client authentication failed');
  }
  const [row] = await auditSince(server, before);
  // ADR 0011: the answer is uniform, the audit row names the precise reason.
  expect(row?.description ?? '').toMatch(new RegExp(`^${reason}`));
  const control = await tokenRequest(await svid());
  expect(control.status, `control request: ${control.text}`).toBe(200);
}

describe('an agent with a SPIFFE ID', () => {
  it('gets a token with its JWT-SVID as the client assertion, and no client_id', async () => {
    const response = await tokenRequest(await svid());
    expect(response.status, response.text).toBe(200);
    const claims = decodeJwt(String(response.body.access_token));
    expect(claims).toMatchObject({ sub: AGENT, client_id: AGENT, aud: RESOURCE, scope: SCOPE });
    const [row] = await server.database.prisma.auditEvent.findMany({ orderBy: { id: 'desc' }, take: 1 });
    expect(row).toMatchObject({ decision: 'granted', clientId: AGENT });
  });

  it('exchanges a user token as the actor of the hop, authenticated by its JWT-SVID', async () => {
    const idp = await createExternalIssuer(`https://idp-${suffix}.example`);
    await registerTrustedIssuer(server, {
      issuer: idp.issuer,
      jwks: idp.jwks,
      audiences: [`https://sts-${suffix}.example`],
    });
    const response = await postToken(server, {
      grant_type: GRANT_TOKEN_EXCHANGE,
      subject_token: await idp.sign({ sub: 'alice', aud: AGENT, scope: SCOPE }),
      subject_token_type: TOKEN_TYPE_ACCESS_TOKEN,
      audience: RESOURCE,
      client_assertion_type: JWT_SPIFFE_ASSERTION_TYPE,
      client_assertion: await svid(),
    });
    expect(response.status, response.text).toBe(200);
    expect(decodeJwt(String(response.body.access_token))).toMatchObject({
      sub: 'alice',
      act: { sub: AGENT },
      client_id: AGENT,
    });
  });

  it('may name itself with client_id beside the JWT-SVID', async () => {
    const response = await tokenRequest(await svid(), { client_id: AGENT });
    expect(response.status, response.text).toBe(200);
  });

  it('accepts typ JOSE, and an aud given as the bare issuer string', async () => {
    const response = await tokenRequest(
      await svid({ header: { typ: 'JOSE' }, claims: { aud: server.baseUrl } }),
    );
    expect(response.status, response.text).toBe(200);
  });

  it('authenticates at the introspection and revocation endpoints with a JWT-SVID too', async () => {
    const issued = await tokenRequest(await svid());
    const token = String(issued.body.access_token);
    const introspection = await postForm(server, '/token/introspection', {
      token,
      client_assertion_type: JWT_SPIFFE_ASSERTION_TYPE,
      client_assertion: await svid(),
    });
    expect(introspection.status, introspection.text).toBe(200);
    expect(introspection.body).toMatchObject({ active: true, client_id: AGENT });
    const refused = await postForm(server, '/token/introspection', {
      token,
      client_assertion_type: JWT_SPIFFE_ASSERTION_TYPE,
      client_assertion: await svid({ claims: { aud: `${server.baseUrl}/token/introspection` } }),
    });
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe('invalid_client');
    const revocation = await postForm(server, '/token/revocation', {
      token,
      client_assertion_type: JWT_SPIFFE_ASSERTION_TYPE,
      client_assertion: await svid(),
    });
    expect(revocation.status, revocation.text).toBe(200);
  });
});

describe('a JWT-SVID that breaks a rule', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const cases: readonly (readonly [string, () => Promise<string>, string])[] = [
    [
      'aud is the token endpoint URL',
      () => svid({ claims: { aud: [`${server.baseUrl}/token`] } }),
      'client_assertion_audience',
    ],
    [
      'aud holds the issuer and another service',
      () => svid({ claims: { aud: [server.baseUrl, 'reports'] } }),
      'client_assertion_audience',
    ],
    ['aud is missing', () => svid({ claims: { aud: undefined } }), 'client_assertion_audience'],
    ['exp is missing', () => svid({ claims: { exp: undefined } }), 'client_assertion_expired'],
    [
      'it has expired',
      () => svid({ claims: { iat: now() - 600, exp: now() - 300 } }),
      'client_assertion_expired',
    ],
    [
      'it lives longer than five minutes',
      () => svid({ claims: { exp: now() + 3600 } }),
      'client_assertion_lifetime',
    ],
    [
      'iat is in the future',
      () => svid({ claims: { iat: now() + 120, exp: now() + 180 } }),
      'client_assertion_not_yet_valid',
    ],
    ['jti is missing', () => svid({ claims: { jti: undefined } }), 'client_assertion_jti'],
    ['typ is at+jwt', () => svid({ header: { typ: 'at+jwt' } }), 'client_assertion_typ'],
    ['sub is not a SPIFFE ID', () => svid({ claims: { sub: AGENT } }), 'client_assertion_subject'],
    [
      'sub is the bare trust domain',
      () => svid({ claims: { sub: `spiffe://${TRUST_DOMAIN}` } }),
      'client_assertion_subject',
    ],
    [
      'sub has a dot segment',
      () => svid({ claims: { sub: `spiffe://${TRUST_DOMAIN}/ns/../admin` } }),
      'client_assertion_subject',
    ],
    [
      'sub is in an unregistered trust domain',
      () => svid({ claims: { sub: `spiffe://other-${suffix}.example${WORKLOAD_PATH}` } }),
      'workload_issuer_unknown',
    ],
    [
      'sub is a workload no agent is bound to',
      () => svid({}, '/ns/agents/sa/unknown'),
      'workload_identity_unbound',
    ],
    [
      'it is signed by the bundle X.509 CA key',
      () => svid({ key: authority.x509Key }),
      'client_assertion_signature',
    ],
    [
      'it is signed with alg RS512, outside the allow-list',
      async () => svid({ key: await newKey('RS512') }),
      'client_assertion_alg',
    ],
  ];

  it.each(cases)('is refused when %s', async (_name, make, reason) => {
    await expectRefused(async () => tokenRequest(await make()), reason);
  });

  it('is refused when signed by a key outside the bundle, whatever kid it names', async () => {
    const stranger = await newKey('ES256');
    await expectRefused(
      async () => tokenRequest(await svid({ key: { ...stranger, kid: authority.jwtKey.kid } })),
      'client_assertion_signature',
    );
  });

  it('is refused with alg none or HS256 keyed with the bundle key', async () => {
    const [header, payload] = (await svid()).split('.');
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;
    await expectRefused(() => tokenRequest(unsigned), 'client_assertion_alg');
    const hs = `${Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url')}.${payload}.${header}`;
    await expectRefused(() => tokenRequest(hs), 'client_assertion_alg');
  });

  it('is refused when client_id names another agent', async () => {
    await expectRefused(
      async () => tokenRequest(await svid(), { client_id: OTHER_AGENT }),
      'workload_identity_unbound',
    );
  });

  it('is spent on first use: the same JWT-SVID is refused the second time', async () => {
    const once = await svid();
    expect((await tokenRequest(once)).status).toBe(200);
    await expectRefused(() => tokenRequest(once), 'client_assertion_replayed');
  });

  it('is refused beside HTTP Basic credentials: one mechanism per request', async () => {
    await expectRefused(
      async () =>
        postToken(
          server,
          {
            grant_type: 'client_credentials',
            audience: RESOURCE,
            client_assertion_type: JWT_SPIFFE_ASSERTION_TYPE,
            client_assertion: await svid(),
          },
          { authorization: basicAuthorization(AGENT, 'x') },
        ),
      'client authentication must only be provided using one mechanism',
      { status: 400, error: 'invalid_request', rule: 'invalid_parameters' },
    );
  });
});

describe('a request refused after the JWT-SVID authenticated it', () => {
  it('names the authenticated agent in its audit row, though the form names no client', async () => {
    const before = await snapshot(server);
    const response = await tokenRequest(await svid(), { scope: 'a b', grant_type: 'urn:example:unknown' });
    await expectRefusedResponse(server, before, response, {
      status: 400,
      error: 'unsupported_grant_type',
      rule: 'invalid_parameters',
    });
    const [row] = await auditSince(server, before);
    expect(row?.clientId).toBe(AGENT);
  });
});

describe('a workload agent without its JWT-SVID', () => {
  it('cannot authenticate by its client_id alone', async () => {
    await expectRefused(
      () => postToken(server, { grant_type: 'client_credentials', audience: RESOURCE, client_id: AGENT }),
      'client_authentication_missing',
    );
  });

  it('cannot present the JWT-SVID as a private_key_jwt assertion', async () => {
    await expectRefused(
      async () =>
        postToken(server, {
          grant_type: 'client_credentials',
          audience: RESOURCE,
          client_assertion_type: CLIENT_ASSERTION_TYPE,
          client_assertion: await svid({ claims: { sub: AGENT, iss: AGENT } }),
        }),
      'auth_method_mismatch',
    );
  });
});

describe('the trust domain bundle', () => {
  it('is refetched at most once per cooldown for unknown kids, and replaced at once by an admin edit', async () => {
    const rotated = await newKey('ES256');
    const hitsBefore = bundleServer.hits();
    // The bundle endpoint now publishes a new key; a JWT-SVID under it names a kid not yet cached.
    (bundle.keys as unknown[]).push({ ...rotated.publicJwk, use: 'jwt-svid' });
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const response = await tokenRequest(await svid({ key: rotated }));
      if (response.status === 200) break;
    }
    expect(bundleServer.hits() - hitsBefore, 'unknown kids cost at most one fetch').toBeLessThanOrEqual(1);
    // An admin edit of the trust domain takes effect at once, on every instance (ADR 0017).
    const patched = await adminCall(server, 'PATCH', `/admin/spiffe-trust-domains/${trustDomainId}`, {
      bundleEndpointUrl: bundleServer.url,
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    const response = await tokenRequest(await svid({ key: rotated }));
    expect(response.status, response.text).toBe(200);
  });
});

describe('a disabled workload agent', () => {
  it('cannot authenticate with a valid JWT-SVID', async () => {
    await disableAgent(server, OTHER_AGENT);
    const before = await snapshot(server);
    const response = await tokenRequest(await svid({}, '/ns/agents/sa/reviewer'));
    await expectRefusedResponse(server, before, response, {
      status: 401,
      error: 'invalid_client',
      rule: 'client_authentication_failed',
    });
    const [row] = await auditSince(server, before);
    expect(row?.description).toMatch(/^client_disabled: /);
    expect(row?.clientId).toBe(`spiffe://${TRUST_DOMAIN}/ns/agents/sa/reviewer`);
  });
});
