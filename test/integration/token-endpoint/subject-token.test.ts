/**
 * Subject and actor token validation (SECURITY-CASES B: ST-01 to ST-09): every malformed, forged,
 * mistyped, expired or misaddressed input token is refused with invalid_request, and nothing is
 * issued.
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deleteTrustedIssuer,
  registerAgent,
  registerResource,
  registerTrustedIssuer,
  uniqueSuffix,
} from '../../helpers/fixtures.js';
import {
  agentToken,
  createExternalIssuer,
  exchange,
  exchangeRequest,
  GRANT_TOKEN_EXCHANGE,
  refusalChecker,
  requestToken,
  TOKEN_TYPE_ACCESS_TOKEN,
  TOKEN_TYPE_ID_TOKEN,
  TOKEN_TYPE_JWT,
  TOKEN_TYPE_REFRESH_TOKEN,
  type ExternalIssuer,
  type Form,
  type TestAgent,
} from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

const suffix = uniqueSuffix();
const RESOURCE = `https://files-${suffix}.example/api`;
const STS_AUDIENCE = `https://sts-${suffix}.example`;

let server: TestServer;
let idpA: ExternalIssuer;
let idpB: ExternalIssuer;
let agent: TestAgent;
let otherAgent: TestAgent;
let validUserToken: string;
let expectRefusal: ReturnType<typeof refusalChecker>;

const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

const IR_PARAMS = { status: 400, error: 'invalid_request', rule: 'invalid_parameters' } as const;
const IR_SUBJECT = { status: 400, error: 'invalid_request', rule: 'subject_token_invalid' } as const;
const IR_AUDIENCE = { status: 400, error: 'invalid_request', rule: 'subject_token_wrong_audience' } as const;

/** An exchange by `agent` for the resource with these fields on top. */
function send(fields: Form) {
  return () => exchangeRequest(server, agent, { audience: RESOURCE, ...fields });
}

/** An exchange with a subject token that should be refused by verification. */
function withSubject(subjectToken: string, subjectTokenType = TOKEN_TYPE_ACCESS_TOKEN) {
  return send({ subject_token: subjectToken, subject_token_type: subjectTokenType });
}

/** A user token of idpA for `agent`, with claims and header changes. */
function userToken(claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) {
  return idpA.sign({ sub: 'alice', aud: agent.id, scope: 'files.read', ...claims }, { header });
}

beforeAll(async () => {
  server = await startTestServer();
  idpA = await createExternalIssuer(`https://idp-a-${suffix}.example`);
  idpB = await createExternalIssuer(`https://idp-b-${suffix}.example`);
  await registerTrustedIssuer(server, { issuer: idpA.issuer, jwks: idpA.jwks, audiences: [STS_AUDIENCE] });
  await registerTrustedIssuer(server, { issuer: idpB.issuer, jwks: idpB.jwks, audiences: [STS_AUDIENCE] });
  await registerResource(server, { id: RESOURCE, scopes: ['files.read'] });
  agent = await registerAgent(server, {
    id: `st-agent-${suffix}`,
    allowedScopes: ['files.read'],
    allowedAudiences: [RESOURCE],
  });
  otherAgent = await registerAgent(server, {
    id: `st-other-${suffix}`,
    allowedScopes: ['files.read'],
    allowedAudiences: [RESOURCE, agent.id],
  });
  validUserToken = await userToken();
  expectRefusal = refusalChecker(server, send({ subject_token: validUserToken }));
});

afterAll(async () => {
  await server?.close();
});

describe('ST-01 missing parameters', () => {
  it.each<[string, Form]>([
    ['no subject_token', { subject_token_type: TOKEN_TYPE_ACCESS_TOKEN }],
    ['an empty subject_token', { subject_token: '' }],
    ['no subject_token_type', { subject_token: 'x.y.z', subject_token_type: '' }],
    ['actor_token without actor_token_type', { subject_token: 'x.y.z', actor_token: 'x.y.z' }],
    [
      'actor_token_type without actor_token',
      { subject_token: 'x.y.z', actor_token_type: TOKEN_TYPE_ACCESS_TOKEN },
    ],
  ])('refuses %s', async (_name, fields) => {
    await expectRefusal(send(fields), IR_PARAMS);
  });

  it('refuses a request with no subject parameters at all', async () => {
    await expectRefusal(
      () => requestToken(server, agent, { grant_type: GRANT_TOKEN_EXCHANGE, audience: RESOURCE }),
      IR_PARAMS,
    );
  });
});

describe('ST-02 token type confusion', () => {
  it('accepts the same IdP token as jwt and an ID token as id_token', async () => {
    await exchange(server, agent, {
      subject_token: await userToken({}, { typ: 'JWT' }),
      subject_token_type: TOKEN_TYPE_JWT,
      audience: RESOURCE,
    });
    const idToken = await userToken({ nonce: 'n', auth_time: now() }, { typ: 'JWT' });
    await exchange(server, agent, {
      subject_token: idToken,
      subject_token_type: TOKEN_TYPE_ID_TOKEN,
      audience: RESOURCE,
    });
  });

  it('refuses an ID token declared as an access token', async () => {
    const idToken = await userToken({ nonce: 'n', auth_time: now() }, { typ: 'JWT' });
    await expectRefusal(withSubject(idToken), IR_SUBJECT);
  });

  it('refuses a JWT without typ at+jwt declared as an access token', async () => {
    await expectRefusal(withSubject(await userToken({}, { typ: undefined })), IR_SUBJECT);
  });

  it('refuses a logout token (events) whatever type it is declared as', async () => {
    const events = { 'http://schemas.openid.net/event/backchannel-logout': {} };
    const logout = await userToken({ events, sid: 's1' }, { typ: 'logout+jwt' });
    await expectRefusal(withSubject(logout), IR_SUBJECT);
    await expectRefusal(withSubject(logout, TOKEN_TYPE_JWT), IR_SUBJECT);
    const disguised = await userToken({ events }, { typ: 'at+jwt' });
    await expectRefusal(withSubject(disguised), IR_SUBJECT);
    await expectRefusal(
      withSubject(await userToken({ events }, { typ: 'JWT' }), TOKEN_TYPE_ID_TOKEN),
      IR_SUBJECT,
    );
  });

  it('refuses another kind of JWT declared as jwt (dpop+jwt, a client assertion type)', async () => {
    await expectRefusal(withSubject(await userToken({}, { typ: 'dpop+jwt' }), TOKEN_TYPE_JWT), IR_SUBJECT);
    await expectRefusal(
      withSubject(await userToken({}, { typ: 'client-authentication+jwt' }), TOKEN_TYPE_JWT),
      IR_SUBJECT,
    );
  });

  it("refuses this service's own access token declared as an id_token", async () => {
    const own = await agentToken(server, otherAgent, { audience: agent.id });
    await expectRefusal(withSubject(own.token, TOKEN_TYPE_ID_TOKEN), IR_SUBJECT);
  });

  it.each([
    ['an unknown URN', 'urn:example:token-type:magic'],
    ['refresh_token', TOKEN_TYPE_REFRESH_TOKEN],
    ['saml2', 'urn:ietf:params:oauth:token-type:saml2'],
  ])('refuses subject_token_type %s', async (_name, type) => {
    await expectRefusal(withSubject(validUserToken, type), IR_PARAMS);
  });

  it('refuses an unknown actor_token_type', async () => {
    await expectRefusal(
      send({
        subject_token: validUserToken,
        actor_token: validUserToken,
        actor_token_type: 'urn:example:magic',
      }),
      IR_PARAMS,
    );
  });
});

describe('ST-03 algorithm attacks', () => {
  it('refuses alg none', async () => {
    const claims = { iss: idpA.issuer, sub: 'alice', aud: agent.id, scope: 'files.read', exp: now() + 300 };
    await expectRefusal(withSubject(`${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims)}.`), IR_SUBJECT);
    await expectRefusal(
      withSubject(`${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims)}.c2ln`),
      IR_SUBJECT,
    );
  });

  it("refuses HS256 keyed with the issuer's public key bytes (JWK, raw, PEM, DER)", async () => {
    const jwk = idpA.jwks.keys[0] as Record<string, unknown>;
    const keyObject = createPublicKey({ key: jwk as never, format: 'jwk' });
    const secrets = [
      new TextEncoder().encode(JSON.stringify(jwk)),
      new Uint8Array(Buffer.from(String(jwk.x), 'base64url')),
      new TextEncoder().encode(keyObject.export({ type: 'spki', format: 'pem' }) as string),
      new Uint8Array(keyObject.export({ type: 'spki', format: 'der' })),
    ];
    for (const secret of secrets) {
      const forged = await new SignJWT({ sub: 'alice', aud: agent.id, scope: 'files.read' })
        .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: idpA.kid })
        .setIssuer(idpA.issuer)
        .setExpirationTime('5m')
        .sign(secret);
      await expectRefusal(withSubject(forged), IR_SUBJECT);
    }
  });

  it("refuses HS256 keyed with this service's own public key", async () => {
    const own = await agentToken(server, otherAgent, { audience: agent.id });
    const jwks = (await (await fetch(`${server.baseUrl}/jwks`)).json()) as {
      keys: Record<string, unknown>[];
    };
    const forged = await new SignJWT({ ...own.claims, scope: 'files.read admin' })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: String(jwks.keys[0]?.kid) })
      .sign(new TextEncoder().encode(JSON.stringify(jwks.keys[0])));
    await expectRefusal(withSubject(forged), IR_SUBJECT);
  });

  it('refuses a token of this service with an altered payload', async () => {
    const own = await agentToken(server, otherAgent, { audience: agent.id });
    const [header, , signature] = own.token.split('.') as [string, string, string];
    const altered = `${header}.${b64({ ...own.claims, scope: 'files.read admin' })}.${signature}`;
    await expectRefusal(withSubject(altered), IR_SUBJECT);
  });
});

describe('ST-05 issuer trust', () => {
  it('refuses a token from an issuer that is not trusted', async () => {
    const stranger = await createExternalIssuer(`https://stranger-${suffix}.example`);
    await expectRefusal(withSubject(await stranger.sign({ sub: 'alice', aud: agent.id })), IR_SUBJECT);
  });

  it("refuses iss = trusted A signed with trusted B's key", async () => {
    const forged = await idpB.sign({ iss: idpA.issuer, sub: 'alice', aud: agent.id, scope: 'files.read' });
    await expectRefusal(withSubject(forged), IR_SUBJECT);
    const withAKid = await idpB.sign(
      { iss: idpA.issuer, sub: 'alice', aud: agent.id, scope: 'files.read' },
      { header: { kid: idpA.kid } },
    );
    await expectRefusal(withSubject(withAKid), IR_SUBJECT);
  });

  it('refuses an issuer removed by an admin a moment earlier', async () => {
    const idp = await createExternalIssuer(`https://short-lived-${suffix}.example`);
    const { id } = await registerTrustedIssuer(server, {
      issuer: idp.issuer,
      jwks: idp.jwks,
      audiences: [STS_AUDIENCE],
    });
    const token = await idp.sign({ sub: 'alice', aud: agent.id, scope: 'files.read' });
    await exchange(server, agent, { subject_token: token, audience: RESOURCE });
    await deleteTrustedIssuer(server, id);
    await expectRefusal(withSubject(token), IR_SUBJECT);
  });
});

describe('claims of external tokens', () => {
  it('reads scopes from the claim the issuer is registered with (scp)', async () => {
    const scpIdp = await createExternalIssuer(`https://scp-idp-${suffix}.example`);
    await registerTrustedIssuer(server, {
      issuer: scpIdp.issuer,
      jwks: scpIdp.jwks,
      audiences: [STS_AUDIENCE],
      scopeClaim: 'scp',
    });
    const token = await scpIdp.sign({ sub: 'alice', aud: agent.id, scp: ['files.read', 'other'] });
    const { claims } = await exchange(server, agent, { subject_token: token, audience: RESOURCE });
    expect(claims.scope).toBe('files.read');
    const scopeOnly = await scpIdp.sign({ sub: 'alice', aud: agent.id, scope: 'files.read' });
    await expectRefusal(withSubject(scopeOnly), { status: 400, error: 'invalid_scope', rule: 'scope_empty' });
  });

  it('refuses a token without sub, or with a malformed scope claim', async () => {
    await expectRefusal(withSubject(await userToken({ sub: undefined })), IR_SUBJECT);
    await expectRefusal(withSubject(await userToken({ sub: '' })), IR_SUBJECT);
    await expectRefusal(withSubject(await userToken({ scope: 42 })), IR_SUBJECT);
    await expectRefusal(withSubject(await userToken({ act: 'agent' })), IR_SUBJECT);
  });

  it('refuses a validly signed token whose claims hold a control character, never a 503', async () => {
    // PostgreSQL text cannot store NUL: such a claim must be refused before it reaches the lineage.
    await expectRefusal(withSubject(await userToken({ sub: 'alice\u0000admin' })), IR_SUBJECT);
    await expectRefusal(withSubject(await userToken({ scope: 'files.read\u0000' })), IR_SUBJECT);
    await expectRefusal(withSubject(await userToken({ act: { sub: 'agent\u0007x' } })), IR_SUBJECT);
    await expectRefusal(withSubject(await userToken({ client_id: 'app\u0000' })), IR_SUBJECT);
    await expectRefusal(withSubject(await userToken({ may_act: { sub: 'x\u001b' } })), IR_SUBJECT);
  });
});

describe('ST-06 times', () => {
  it('refuses an expired token, one without exp, and nbf or iat beyond the 15 s skew', async () => {
    await expectRefusal(withSubject(await userToken({ iat: now() - 600, exp: now() - 60 })), IR_SUBJECT);
    await expectRefusal(withSubject(await userToken({ exp: undefined })), IR_SUBJECT);
    await expectRefusal(withSubject(await userToken({ nbf: now() + 60 })), IR_SUBJECT);
    await expectRefusal(withSubject(await userToken({ iat: now() + 60 })), IR_SUBJECT);
  });

  it('accepts nbf and iat within the skew', async () => {
    await exchange(server, agent, {
      subject_token: await userToken({ nbf: now() + 8, iat: now() + 8 }),
      audience: RESOURCE,
    });
  });
});

describe('ST-07 audience', () => {
  it('refuses a token issued to another agent (confused deputy)', async () => {
    await expectRefusal(withSubject(await userToken({ aud: otherAgent.id })), IR_AUDIENCE);
    const own = await agentToken(server, otherAgent, { audience: RESOURCE });
    await expectRefusal(withSubject(own.token), IR_AUDIENCE);
  });

  it('refuses a token without aud', async () => {
    await expectRefusal(withSubject(await userToken({ aud: undefined })), IR_AUDIENCE);
  });

  it("refuses a token of this service addressed to agent-sts's issuer", async () => {
    await expectRefusal(withSubject(await userToken({ aud: server.baseUrl })), IR_AUDIENCE);
  });

  it('accepts a list of audiences that names the agent', async () => {
    await exchange(server, agent, {
      subject_token: await userToken({ aud: ['https://other.example', agent.id] }),
      audience: RESOURCE,
    });
  });
});

describe('ST-09 malformed tokens', () => {
  it.each<[string, () => string]>([
    [
      'a JWE (five parts)',
      () => `${b64({ alg: 'PBES2-HS256+A128KW', enc: 'A128GCM', p2c: 2 ** 31 })}.a.b.c.d`,
    ],
    [
      'a JWE with a zip bomb header',
      () => `${b64({ alg: 'dir', enc: 'A128GCM', zip: 'DEF' })}..aaaa.bbbb.cccc`,
    ],
    ['a four-part token', () => 'a.b.c.d'],
    ['a two-part token', () => 'a.b'],
    ['bad base64url', () => validUserToken.replace('.', '.+/=')],
    [
      'a header that is not JSON',
      () => `${b64('not json')}.${validUserToken.split('.')[1]}.${validUserToken.split('.')[2]}`,
    ],
    [
      'non-UTF-8 bytes',
      () => `${Buffer.from([0xff, 0xfe, 0xfd]).toString('base64url')}.${b64({ sub: 'x' })}.c2ln`,
    ],
    ['an oversized token', () => `${b64({ alg: 'ES256', typ: 'at+jwt' })}.${'A'.repeat(40_000)}.c2ln`],
    ['a token with whitespace', () => ` ${validUserToken} `],
  ])('refuses %s', async (_name, token) => {
    await expectRefusal(withSubject(token()), IR_SUBJECT);
  });

  it('refuses an unknown crit header', async () => {
    const token = await new SignJWT({ iss: idpA.issuer, sub: 'alice', aud: agent.id, scope: 'files.read' })
      .setProtectedHeader({
        alg: 'ES256',
        typ: 'at+jwt',
        kid: idpA.kid,
        crit: ['urn:example:critical'],
        'urn:example:critical': true,
      })
      .setExpirationTime('5m')
      .sign(idpA.privateKey, { crit: { 'urn:example:critical': true } });
    await expectRefusal(withSubject(token), IR_SUBJECT);
  });

  it('refuses a nested JWT (cty JWT) whose payload is another token', async () => {
    const inner = await userToken();
    const nested = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', cty: 'JWT', kid: idpA.kid })
      .sign(idpA.privateKey)
      .then((token) => {
        const [header, , signature] = token.split('.') as [string, string, string];
        return `${header}.${b64(inner)}.${signature}`;
      });
    await expectRefusal(withSubject(nested), IR_SUBJECT);
  });

  it('refuses an algorithm other than the one registered with the issuer key', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rsaIdp = `https://rsa-${suffix}.example`;
    await registerTrustedIssuer(server, {
      issuer: rsaIdp,
      jwks: { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'rsa', alg: 'RS256', use: 'sig' }] },
      audiences: [STS_AUDIENCE],
    });
    const token = await new SignJWT({ sub: 'alice', aud: agent.id, scope: 'files.read' })
      .setProtectedHeader({ alg: 'PS256', typ: 'at+jwt', kid: 'rsa' })
      .setIssuer(rsaIdp)
      .setExpirationTime('5m')
      .sign(privateKey);
    await expectRefusal(withSubject(token), IR_SUBJECT);
    // The same key with its registered alg works.
    const good = await new SignJWT({ sub: 'alice', aud: agent.id, scope: 'files.read' })
      .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'rsa' })
      .setIssuer(rsaIdp)
      .setExpirationTime('5m')
      .sign(privateKey);
    await exchange(server, agent, { subject_token: good, audience: RESOURCE });
  });
});

describe('actor tokens (ST-08, RFC 8693 §2.1)', () => {
  it('refuses an expired actor token and one that is not a valid token', async () => {
    const expired = await idpA.sign({ sub: agent.id, iat: now() - 600, exp: now() - 60 });
    const rule = { status: 400, error: 'invalid_request', rule: 'actor_token_invalid' };
    await expectRefusal(
      send({
        subject_token: validUserToken,
        actor_token: expired,
        actor_token_type: TOKEN_TYPE_ACCESS_TOKEN,
      }),
      rule,
    );
    await expectRefusal(
      send({
        subject_token: validUserToken,
        actor_token: 'a.b.c',
        actor_token_type: TOKEN_TYPE_ACCESS_TOKEN,
      }),
      rule,
    );
  });

  it('refuses a revoked actor token', async () => {
    const own = await agentToken(server, agent, { audience: RESOURCE });
    await exchange(server, agent, {
      subject_token: validUserToken,
      actor_token: own.token,
      actor_token_type: TOKEN_TYPE_ACCESS_TOKEN,
      audience: RESOURCE,
    });
    await server.database.prisma.issuedToken.update({
      where: { jti: own.claims.jti as string },
      data: { revokedAt: new Date() },
    });
    await expectRefusal(
      send({
        subject_token: validUserToken,
        actor_token: own.token,
        actor_token_type: TOKEN_TYPE_ACCESS_TOKEN,
      }),
      { status: 400, error: 'invalid_request', rule: 'actor_token_invalid' },
    );
  });

  it('never echoes token contents in error_description', async () => {
    const secretish = await userToken({ aud: otherAgent.id, sub: 'SENSITIVE-SUBJECT-VALUE' });
    const response = await expectRefusal(withSubject(secretish), IR_AUDIENCE);
    expect(response.text).not.toContain('SENSITIVE-SUBJECT-VALUE');
    expect(response.text).not.toContain(otherAgent.id);
  });
});

it('a subject token is not bound to its first use: the same user token exchanges twice', async () => {
  const first = await exchange(server, agent, { subject_token: validUserToken, audience: RESOURCE });
  const second = await exchange(server, agent, { subject_token: validUserToken, audience: RESOURCE });
  expect(first.claims.jti).not.toBe(second.claims.jti);
});
