/**
 * RFC 10070 (updating RFC 7523 §3) at every endpoint that authenticates clients — the token,
 * introspection and revocation endpoints — with one table of assertion variants (CONTRACT "Client
 * assertions", SECURITY-CASES CA-08, CA-10): the issuer identifier as the sole `aud` (a string or
 * a one-element array; no endpoint URL, alone or beside it), `typ` `client-authentication+jwt`,
 * the generic `JWT` or none, and never the `typ` of another kind of JWT; `iss` = `sub` = the
 * client, `exp` and `jti` required.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAgent, registerResource, uniqueSuffix } from '../../helpers/fixtures.js';
import {
  agentToken,
  CLIENT_ASSERTION_TYPE,
  clientAssertion,
  generateSigningKey,
  postToken,
  refusalChecker,
  snapshot,
  type AssertionOptions,
  type TestAgent,
  type TokenResponse,
} from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { expectOAuthError, introspect, postForm } from '../introspection-revocation/helpers.js';

const suffix = uniqueSuffix();
const RESOURCE = `https://api-${suffix}.example/`;
const SCOPE = 'data.read';
const IC = { status: 401, error: 'invalid_client', rule: 'client_authentication_failed' } as const;

let server: TestServer;
let keyAgent: TestAgent;
/** Another registered private_key_jwt agent, for `iss`/`sub` naming someone else. */
let otherAgent: TestAgent;

beforeAll(async () => {
  server = await startTestServer();
  await registerResource(server, { id: RESOURCE, scopes: [SCOPE] });
  const register = async (id: string): Promise<TestAgent> => {
    const key = await generateSigningKey();
    const agent = await registerAgent(server, {
      id,
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwks: { keys: [key.publicJwk] },
      allowedScopes: [SCOPE],
      allowedAudiences: [RESOURCE],
      grantTypes: ['client_credentials'],
    });
    return { ...agent, privateKey: key.privateKey, kid: key.kid };
  };
  keyAgent = await register(`rfc10070-${suffix}`);
  otherAgent = await register(`rfc10070-other-${suffix}`);
});

afterAll(async () => {
  await server?.close();
});

type Variant = readonly [name: string, options: () => AssertionOptions];

const issuer = () => server.baseUrl;

/** Accepted everywhere. */
const ACCEPTED: readonly Variant[] = [
  ['aud is the issuer as a string', () => ({ claims: { aud: issuer() } })],
  ['aud is a one-element array holding the issuer', () => ({ claims: { aud: [issuer()] } })],
  ['typ is absent', () => ({})],
  ['typ is JWT', () => ({ header: { typ: 'JWT' } })],
  ['typ is client-authentication+jwt', () => ({ header: { typ: 'client-authentication+jwt' } })],
  [
    'typ is application/client-authentication+jwt',
    () => ({ header: { typ: 'application/client-authentication+jwt' } }),
  ],
  // Media type names are case-insensitive (RFC 7515 §4.1.9, RFC 6838 §4.2).
  ['typ is Client-Authentication+JWT', () => ({ header: { typ: 'Client-Authentication+JWT' } })],
];

/** Refused everywhere with invalid_client. */
const REFUSED: readonly Variant[] = [
  ['aud is the token endpoint URL', () => ({ claims: { aud: `${issuer()}/token` } })],
  ['aud is the introspection endpoint URL', () => ({ claims: { aud: `${issuer()}/token/introspection` } })],
  ['aud is the revocation endpoint URL', () => ({ claims: { aud: `${issuer()}/token/revocation` } })],
  [
    'aud is the issuer and the token endpoint URL',
    () => ({ claims: { aud: [issuer(), `${issuer()}/token`] } }),
  ],
  [
    'aud is the token endpoint URL and the issuer',
    () => ({ claims: { aud: [`${issuer()}/token`, issuer()] } }),
  ],
  [
    'aud is the issuer and another server',
    () => ({ claims: { aud: [issuer(), 'https://elsewhere.example'] } }),
  ],
  ['aud is the issuer twice', () => ({ claims: { aud: [issuer(), issuer()] } })],
  ['aud is an empty array', () => ({ claims: { aud: [] } })],
  ['aud is the issuer with a trailing slash', () => ({ claims: { aud: `${issuer()}/` } })],
  ['aud is the issuer in upper case', () => ({ claims: { aud: issuer().toUpperCase() } })],
  ['aud is another server', () => ({ claims: { aud: 'https://elsewhere.example' } })],
  ['aud is missing', () => ({ claims: { aud: undefined } })],
  ['typ is at+jwt', () => ({ header: { typ: 'at+jwt' } })],
  ['typ is application/at+jwt', () => ({ header: { typ: 'application/at+jwt' } })],
  ['typ is dpop+jwt', () => ({ header: { typ: 'dpop+jwt' } })],
  ['typ is secevent+jwt', () => ({ header: { typ: 'secevent+jwt' } })],
  ['typ is oauth-authz-req+jwt', () => ({ header: { typ: 'oauth-authz-req+jwt' } })],
  ['typ is logout+jwt', () => ({ header: { typ: 'logout+jwt' } })],
  ['typ is token-introspection+jwt', () => ({ header: { typ: 'token-introspection+jwt' } })],
  ['typ is empty', () => ({ header: { typ: '' } })],
  ['typ is not a string', () => ({ header: { typ: 7 } })],
  ['iss is missing', () => ({ claims: { iss: undefined } })],
  ['iss is another client', () => ({ claims: { iss: otherAgent.id } })],
  ['sub is another client', () => ({ claims: { sub: otherAgent.id } })],
  ['exp is missing', () => ({ claims: { exp: undefined } })],
  ['jti is missing', () => ({ claims: { jti: undefined } })],
  ['the lifetime exceeds five minutes', () => ({ claims: { exp: Math.floor(Date.now() / 1000) + 600 } })],
];

function assertionForm(assertion: string): Record<string, string> {
  return { client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: assertion };
}

async function ownToken(): Promise<string> {
  return (await agentToken(server, keyAgent, { audience: RESOURCE })).token;
}

async function isActive(token: string): Promise<boolean> {
  const response = await introspect(server, keyAgent, token);
  expect(response.status, response.text).toBe(200);
  return response.body.active === true;
}

describe('the token endpoint', () => {
  const tokenRequest = async (options: AssertionOptions) =>
    postToken(server, {
      grant_type: 'client_credentials',
      audience: RESOURCE,
      ...assertionForm(await clientAssertion(server, keyAgent, options)),
    });
  const expectRefusal = refusalChecker(
    () => server,
    () => tokenRequest({}),
  );

  it.each(ACCEPTED)('accepts an assertion whose %s', async (_name, options) => {
    const response = await tokenRequest(options());
    expect(response.status, response.text).toBe(200);
    expect(typeof response.body.access_token).toBe('string');
  });

  it.each(REFUSED)('refuses an assertion whose %s, issuing nothing', async (_name, options) => {
    await expectRefusal(() => tokenRequest(options()), IC);
  });
});

describe('the introspection endpoint', () => {
  let token: string;
  beforeAll(async () => {
    token = await ownToken();
  });
  const introspection = async (options: AssertionOptions): Promise<TokenResponse> =>
    postForm(server, '/token/introspection', {
      token,
      ...assertionForm(await clientAssertion(server, keyAgent, options)),
    });

  it.each(ACCEPTED)('accepts an assertion whose %s', async (_name, options) => {
    const response = await introspection(options());
    expect(response.status, response.text).toBe(200);
    expect(response.body).toMatchObject({ active: true, client_id: keyAgent.id });
  });

  it.each(REFUSED)('refuses an assertion whose %s, revealing nothing', async (_name, options) => {
    const before = await snapshot(server);
    expectOAuthError(await introspection(options()), IC.status, IC.error);
    expect(await server.database.prisma.issuedToken.count(), 'nothing issued').toBe(before.issuedTokens);
    // A valid assertion right after still works.
    expect((await introspection({})).body.active).toBe(true);
  });
});

describe('the revocation endpoint', () => {
  const revocation = async (token: string, options: AssertionOptions): Promise<TokenResponse> =>
    postForm(server, '/token/revocation', {
      token,
      ...assertionForm(await clientAssertion(server, keyAgent, options)),
    });

  it.each(ACCEPTED)('accepts an assertion whose %s', async (_name, options) => {
    const token = await ownToken();
    const response = await revocation(token, options());
    expect(response.status, response.text).toBe(200);
    expect(await isActive(token), 'the token is revoked').toBe(false);
  });

  it.each(REFUSED)('refuses an assertion whose %s, revoking nothing', async (_name, options) => {
    const token = await ownToken();
    const before = await snapshot(server);
    expectOAuthError(await revocation(token, options()), IC.status, IC.error);
    expect(await isActive(token), 'the token is still active').toBe(true);
    expect(await server.database.prisma.issuedToken.count(), 'nothing issued').toBe(before.issuedTokens);
    // A valid assertion right after still revokes it.
    expect((await revocation(token, {})).status).toBe(200);
    expect(await isActive(token)).toBe(false);
  });
});
