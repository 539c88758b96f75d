/**
 * Client authentication at the token endpoint (SECURITY-CASES A: CA-01 to CA-10, without DPoP):
 * client secrets (Basic and post) and `private_key_jwt` assertions (RFC 7523 §3).
 */
import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deleteAgent,
  disableAgent,
  registerAgent,
  registerResource,
  uniqueSuffix,
} from '../../helpers/fixtures.js';
import {
  agentToken,
  basicAuthorization,
  CLIENT_ASSERTION_TYPE,
  clientAssertion,
  GRANT_TOKEN_EXCHANGE,
  generateSigningKey,
  postToken,
  refusalChecker,
  requestToken,
  snapshot,
  expectRefusedResponse,
  TOKEN_TYPE_ACCESS_TOKEN,
  type AssertionOptions,
  type TestAgent,
} from '../../helpers/oauth.js';
import { SHARED_POSTGRES, unmet } from '../../helpers/requirements.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

const suffix = uniqueSuffix();
const RESOURCE = `https://api-${suffix}.example/`;

let server: TestServer;
/** Issues the subject tokens; authenticates with client_secret_basic. */
let basicAgent: TestAgent;
let postAgent: TestAgent;
let keyAgent: TestAgent;
let otherKeyAgent: TestAgent;
let keyAgentPublicJwk: Record<string, unknown>;
/** basicAgent's own token addressed to keyAgent: what keyAgent exchanges. */
let subjectToken: string;
let expectRefusal: ReturnType<typeof refusalChecker>;

function exchangeParams(): Record<string, string> {
  return {
    grant_type: GRANT_TOKEN_EXCHANGE,
    subject_token: subjectToken,
    subject_token_type: TOKEN_TYPE_ACCESS_TOKEN,
    audience: RESOURCE,
  };
}

/** A keyAgent exchange authenticated by a client assertion built with `options`. */
async function withAssertion(options: AssertionOptions = {}, agent: TestAgent = keyAgent) {
  return postToken(server, {
    ...exchangeParams(),
    client_assertion_type: CLIENT_ASSERTION_TYPE,
    client_assertion: await clientAssertion(server, agent, options),
  });
}

function unsigned(header: object, claims: object): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part(header)}.${part(claims)}.`;
}

const IC = { status: 401, error: 'invalid_client', rule: 'client_authentication_failed' } as const;
const IR = { status: 400, error: 'invalid_request', rule: 'invalid_parameters' } as const;

beforeAll(async () => {
  server = await startTestServer();
  await registerResource(server, { id: RESOURCE, scopes: ['data.read'] });
  const key = await generateSigningKey();
  const otherKey = await generateSigningKey();
  keyAgentPublicJwk = key.publicJwk as Record<string, unknown>;
  const registeredKeyAgent = await registerAgent(server, {
    id: `ca-key-${suffix}`,
    tokenEndpointAuthMethod: 'private_key_jwt',
    jwks: { keys: [key.publicJwk] },
    allowedScopes: ['data.read'],
    allowedAudiences: [RESOURCE],
  });
  keyAgent = { ...registeredKeyAgent, privateKey: key.privateKey, kid: key.kid };
  otherKeyAgent = {
    ...(await registerAgent(server, {
      id: `ca-key2-${suffix}`,
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwks: { keys: [otherKey.publicJwk] },
      allowedScopes: ['data.read'],
      allowedAudiences: [RESOURCE],
    })),
    privateKey: otherKey.privateKey,
    kid: otherKey.kid,
  };
  basicAgent = await registerAgent(server, {
    id: `ca-basic-${suffix}`,
    allowedScopes: ['data.read'],
    allowedAudiences: [keyAgent.id, RESOURCE],
  });
  postAgent = await registerAgent(server, {
    id: `ca-post-${suffix}`,
    tokenEndpointAuthMethod: 'client_secret_post',
    allowedScopes: ['data.read'],
    allowedAudiences: [keyAgent.id, RESOURCE],
  });
  subjectToken = (await agentToken(server, basicAgent, { audience: keyAgent.id })).token;
  expectRefusal = refusalChecker(
    () => server,
    () => requestToken(server, keyAgent, exchangeParams()),
  );
});

afterAll(async () => {
  await server?.close();
});

describe('client secrets (CA-01, CA-02, CA-03)', () => {
  it('authenticates with client_secret_basic and client_secret_post', async () => {
    expect((await agentToken(server, basicAgent, { audience: RESOURCE })).claims.client_id).toBe(
      basicAgent.id,
    );
    expect((await agentToken(server, postAgent, { audience: RESOURCE })).claims.client_id).toBe(postAgent.id);
  });

  it('CA-03 refuses a secret sent by the other secret method than the one registered', async () => {
    await expectRefusal(
      () =>
        postToken(server, {
          ...exchangeParams(),
          client_id: basicAgent.id,
          client_secret: basicAgent.clientSecret as string,
        }),
      IC,
    );
    await expectRefusal(
      () =>
        postToken(server, exchangeParams(), {
          authorization: basicAuthorization(postAgent.id, postAgent.clientSecret as string),
        }),
      { ...IC, basic: true },
    );
  });

  it('CA-01 refuses an exchange with no client authentication at all', async () => {
    await expectRefusal(() => postToken(server, exchangeParams()), IC);
  });

  it('CA-01 refuses a client_id without its secret', async () => {
    await expectRefusal(() => postToken(server, { ...exchangeParams(), client_id: postAgent.id }), IC);
  });

  it('CA-01 refuses a wrong secret over Basic, with WWW-Authenticate: Basic', async () => {
    await expectRefusal(
      () =>
        postToken(server, exchangeParams(), {
          authorization: basicAuthorization(basicAgent.id, 'wrong-secret'),
        }),
      { ...IC, basic: true },
    );
  });

  it('audits a failed Basic authentication under the client it claimed to be', async () => {
    await postToken(server, exchangeParams(), {
      authorization: basicAuthorization(basicAgent.id, 'wrong-secret'),
    });
    const [row] = await server.database.prisma.auditEvent.findMany({ orderBy: { id: 'desc' }, take: 1 });
    expect(row).toMatchObject({
      decision: 'denied',
      rule: 'client_authentication_failed',
      clientId: basicAgent.id,
    });
  });

  it('CA-01 refuses a wrong secret in the body', async () => {
    await expectRefusal(
      () =>
        postToken(server, { ...exchangeParams(), client_id: postAgent.id, client_secret: 'wrong-secret' }),
      IC,
    );
  });

  it('CA-01 refuses an unknown client', async () => {
    await expectRefusal(
      () =>
        postToken(server, exchangeParams(), { authorization: basicAuthorization('no-such-agent', 'secret') }),
      { ...IC, basic: true },
    );
  });

  it('CA-01 refuses another agent secret', async () => {
    await expectRefusal(
      () =>
        postToken(server, exchangeParams(), {
          authorization: basicAuthorization(basicAgent.id, postAgent.clientSecret ?? ''),
        }),
      { ...IC, basic: true },
    );
  });

  it('CA-02 refuses Basic plus a secret in the body', async () => {
    await expectRefusal(
      () =>
        postToken(
          server,
          { ...exchangeParams(), client_id: basicAgent.id, client_secret: basicAgent.clientSecret ?? '' },
          { authorization: basicAuthorization(basicAgent.id, basicAgent.clientSecret ?? '') },
        ),
      IR,
    );
  });

  it('CA-02 refuses Basic plus a client assertion', async () => {
    await expectRefusal(
      async () =>
        postToken(
          server,
          {
            ...exchangeParams(),
            client_assertion_type: CLIENT_ASSERTION_TYPE,
            client_assertion: await clientAssertion(server, keyAgent),
          },
          { authorization: basicAuthorization(basicAgent.id, basicAgent.clientSecret ?? '') },
        ),
      IR,
    );
  });

  it('CA-02 refuses a Basic client id that differs from the body client_id', async () => {
    await expectRefusal(
      () =>
        postToken(
          server,
          { ...exchangeParams(), client_id: postAgent.id },
          { authorization: basicAuthorization(basicAgent.id, basicAgent.clientSecret ?? '') },
        ),
      IR,
    );
  });

  it.each([
    ['no credentials', 'Basic'],
    ['no colon', 'Basic ' + Buffer.from('just-an-id').toString('base64')],
    ['bad percent-encoding', 'Basic ' + Buffer.from('agent%zz:secret').toString('base64')],
    ['not base64', 'Basic %%%%'],
  ])('CA-02 refuses a malformed Basic header (%s)', async (_name, authorization) => {
    await expectRefusal(() => postToken(server, exchangeParams(), { authorization }), IR);
  });

  it('CA-03 refuses a private_key_jwt agent that presents a secret', async () => {
    await expectRefusal(
      () =>
        postToken(server, exchangeParams(), {
          authorization: basicAuthorization(keyAgent.id, basicAgent.clientSecret ?? ''),
        }),
      { ...IC, basic: true },
    );
    await expectRefusal(
      () => postToken(server, { ...exchangeParams(), client_id: keyAgent.id, client_secret: 'anything' }),
      IC,
    );
  });

  it('CA-03 refuses a blank secret for a secretless agent', async () => {
    await expectRefusal(
      () => postToken(server, { ...exchangeParams(), client_id: keyAgent.id, client_secret: '' }),
      IC,
    );
  });
});

describe('disabled and deleted agents (CA-04)', () => {
  it('refuses a disabled agent with valid credentials', async () => {
    const agent = await registerAgent(server, {
      id: `ca-disabled-${suffix}`,
      allowedScopes: ['data.read'],
      allowedAudiences: [RESOURCE],
    });
    await agentToken(server, agent, { audience: RESOURCE });
    await disableAgent(server, agent.id);
    await expectRefusal(() => requestToken(server, agent, { grant_type: 'client_credentials' }), {
      ...IC,
      basic: true,
    });
  });

  it('refuses a deleted agent with valid credentials', async () => {
    const agent = await registerAgent(server, {
      id: `ca-deleted-${suffix}`,
      tokenEndpointAuthMethod: 'client_secret_post',
      allowedScopes: ['data.read'],
      allowedAudiences: [RESOURCE],
    });
    await agentToken(server, agent, { audience: RESOURCE });
    await deleteAgent(server, agent.id);
    await expectRefusal(() => requestToken(server, agent, { grant_type: 'client_credentials' }), IC);
  });
});

describe('grant permission (CA-05)', () => {
  it('refuses token exchange by an agent allowed only client_credentials (unauthorized_client)', async () => {
    const agent = await registerAgent(server, {
      id: `ca-cc-only-${suffix}`,
      allowedScopes: ['data.read'],
      allowedAudiences: [RESOURCE],
      grantTypes: ['client_credentials'],
    });
    const issuer = await registerAgent(server, {
      id: `ca-issuer-${suffix}`,
      allowedScopes: ['data.read'],
      allowedAudiences: [agent.id],
    });
    const ownToken = (await agentToken(server, issuer)).token;
    const expected = { status: 400, error: 'unauthorized_client', rule: 'grant_type_not_allowed' };
    await expectRefusal(
      () => requestToken(server, agent, { ...exchangeParams(), subject_token: ownToken }),
      expected,
    );
    // Decided before the subject token is looked at: the grant is no oracle for token validity.
    await expectRefusal(
      () => requestToken(server, agent, { ...exchangeParams(), subject_token: 'not-a-token' }),
      expected,
    );
  });
});

describe('client assertions (CA-06, CA-08, CA-09, CA-10)', () => {
  it('authenticates a private_key_jwt agent with a fresh assertion', async () => {
    const response = await withAssertion();
    expect(response.status, response.text).toBe(200);
  });

  it('CA-06 refuses alg none', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: keyAgent.id,
      sub: keyAgent.id,
      aud: server.baseUrl,
      jti: 'none-' + suffix,
      iat: now,
      exp: now + 60,
    };
    await expectRefusal(
      () =>
        postToken(server, {
          ...exchangeParams(),
          client_assertion_type: CLIENT_ASSERTION_TYPE,
          client_assertion: unsigned({ alg: 'none', typ: 'JWT' }, claims),
        }),
      IC,
    );
  });

  it("CA-06 refuses HS256 keyed with the agent's public key", async () => {
    const jwkBytes = new TextEncoder().encode(JSON.stringify(keyAgentPublicJwk));
    await expectRefusal(() => withAssertion({ alg: 'HS256', key: jwkBytes }), IC);
    const x = Buffer.from(String(keyAgentPublicJwk.x), 'base64url');
    await expectRefusal(() => withAssertion({ alg: 'HS256', key: new Uint8Array(x) }), IC);
  });

  it('CA-06 refuses a broken signature', async () => {
    const assertion = await clientAssertion(server, keyAgent);
    const [header, payload, signature] = assertion.split('.') as [string, string, string];
    const flipped = (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1);
    await expectRefusal(
      () =>
        postToken(server, {
          ...exchangeParams(),
          client_assertion_type: CLIENT_ASSERTION_TYPE,
          client_assertion: `${header}.${payload}.${flipped}`,
        }),
      IC,
    );
  });

  it('CA-06 refuses RS256 when the registered key is ES256', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    await expectRefusal(() => withAssertion({ alg: 'RS256', key: privateKey }), IC);
  });

  it('CA-06 refuses an assertion signed with another agent key', async () => {
    await expectRefusal(() => withAssertion({ key: otherKeyAgent.privateKey }), IC);
  });

  // Claims are built when each case runs, so that no case drifts with the suite's run time.
  it.each<[string, (now: number) => AssertionOptions['claims']]>([
    ['aud is another server', () => ({ aud: 'https://elsewhere.example' })],
    ['aud is the token endpoint only', () => ({ aud: `${server.baseUrl}/token` })],
    ['aud is missing', () => ({ aud: undefined })],
    ['iss is missing', () => ({ iss: undefined })],
    ['iss is another agent', () => ({ iss: otherKeyAgent.id })],
    ['exp is missing', () => ({ exp: undefined })],
    ['exp is five minutes past', (now) => ({ exp: now - 300, iat: now - 360 })],
    ['the lifetime exceeds five minutes', (now) => ({ exp: now + 600 })],
    ['iat is 60 s in the future', (now) => ({ iat: now + 60 })],
    ['iat is an hour in the future', (now) => ({ iat: now + 3600, exp: now + 3660 })],
    ['nbf is 60 s in the future', (now) => ({ nbf: now + 60 })],
    ['jti is missing', () => ({ jti: undefined })],
    ['exp is ten years out', (now) => ({ exp: now + 10 * 365 * 86400 })],
  ])('CA-08 refuses an assertion whose %s', async (_name, claims) => {
    await expectRefusal(() => withAssertion({ claims: claims(Math.floor(Date.now() / 1000)) }), IC);
  });

  it('CA-08 refuses an assertion whose sub names another agent than its signer', async () => {
    // sub names the client (RFC 7523 §3): sub = other with iss = keyAgent, then both = other.
    await expectRefusal(() => withAssertion({ claims: { sub: otherKeyAgent.id } }), IC);
    await expectRefusal(
      () =>
        withAssertion({ claims: { sub: otherKeyAgent.id, iss: otherKeyAgent.id }, key: keyAgent.privateKey }),
      IC,
    );
  });

  it('CA-08 accepts an iat 8 s in the future (within the clock tolerance)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const response = await withAssertion({ claims: { iat: now + 8, exp: now + 68 } });
    expect(response.status, response.text).toBe(200);
  });

  it('CA-08 refuses a missing or wrong client_assertion_type (invalid_request)', async () => {
    const assertion = await clientAssertion(server, keyAgent);
    await expectRefusal(() => postToken(server, { ...exchangeParams(), client_assertion: assertion }), IR);
    await expectRefusal(
      () =>
        postToken(server, {
          ...exchangeParams(),
          client_assertion: assertion,
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer',
        }),
      IR,
    );
  });

  it.each(['dpop+jwt', 'at+jwt', 'oauth-authz-req+jwt', 'logout+jwt'])(
    'CA-10 refuses an assertion with typ %s',
    async (typ) => {
      await expectRefusal(() => withAssertion({ header: { typ } }), IC);
    },
  );

  it('CA-10 accepts typ client-authentication+jwt', async () => {
    const response = await withAssertion({ header: { typ: 'client-authentication+jwt' } });
    expect(response.status, response.text).toBe(200);
  });

  it.skipIf(unmet(SHARED_POSTGRES))('CA-09 refuses an assertion replayed at another instance', async () => {
    // A second instance of the same service (same issuer, same PostgreSQL), as another pod would be.
    const other = await startTestServer({ keepData: true, env: { ISSUER: server.baseUrl } });
    const otherPod: TestServer = { ...other, baseUrl: `http://127.0.0.1:${other.config.port}` };
    try {
      const form = {
        ...exchangeParams(),
        client_assertion_type: CLIENT_ASSERTION_TYPE,
        client_assertion: await clientAssertion(server, keyAgent),
      };
      expect((await postToken(server, form)).status).toBe(200);
      const before = await snapshot(server);
      await expectRefusedResponse(server, before, await postToken(otherPod, form), IC);
      // The other pod serves the agent, and knows the first pod's tokens, with a fresh assertion.
      const fresh = await postToken(otherPod, {
        ...form,
        client_assertion: await clientAssertion(server, keyAgent),
      });
      expect(fresh.status, fresh.text).toBe(200);
    } finally {
      await other.close();
    }
  });

  it('CA-09 accepts one of several concurrent uses of the same assertion', async () => {
    const form = {
      ...exchangeParams(),
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: await clientAssertion(server, keyAgent),
    };
    const before = await snapshot(server);
    const responses = await Promise.all(Array.from({ length: 6 }, () => postToken(server, form)));
    expect(responses.map((response) => response.status).sort()).toEqual([200, 401, 401, 401, 401, 401]);
    expect(await server.database.prisma.issuedToken.count()).toBe(before.issuedTokens + 1);
  });

  it('CA-09 refuses a replayed assertion jti, also after a restart', async () => {
    const assertion = await clientAssertion(server, keyAgent);
    const send = () =>
      postToken(server, {
        ...exchangeParams(),
        client_assertion_type: CLIENT_ASSERTION_TYPE,
        client_assertion: assertion,
      });
    expect((await send()).status).toBe(200);
    await expectRefusal(send, IC);

    // The same jti in a new assertion is a replay too.
    const jti = 'fixed-' + suffix;
    const first = await withAssertion({ claims: { jti } });
    expect(first.status, first.text).toBe(200);
    await expectRefusal(() => withAssertion({ claims: { jti } }), IC);

    server = await server.restart();
    await expectRefusal(send, IC);
    await expectRefusal(() => withAssertion({ claims: { jti } }), IC);
  });
});

it('keeps HMAC-signed assertions out even with a registered HS key set', async () => {
  // A secret agent can not switch to client_secret_jwt with its secret as the HMAC key.
  const assertion = await new SignJWT({
    iss: basicAgent.id,
    sub: basicAgent.id,
    aud: server.baseUrl,
    jti: 'hs-' + suffix,
    exp: Math.floor(Date.now() / 1000) + 60,
  })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(basicAgent.clientSecret));
  await expectRefusal(
    () =>
      postToken(server, {
        ...exchangeParams(),
        client_assertion_type: CLIENT_ASSERTION_TYPE,
        client_assertion: assertion,
      }),
    IC,
  );
});
