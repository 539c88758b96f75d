/**
 * grant_type=client_credentials (CONTRACT §3.1, §3.3): an agent's own token, its claims, scope
 * defaulting and the audience and scope refusals.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAgent, registerResource, uniqueSuffix } from '../../helpers/fixtures.js';
import {
  agentToken,
  decodeProtectedHeader,
  refusalChecker,
  requestToken,
  verifyAsResourceServer,
  type TestAgent,
} from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

const suffix = uniqueSuffix();
const CALENDAR = `https://calendar-${suffix}.example/api`;
const MAIL = `https://mail-${suffix}.example/api`;
const UNREGISTERED = `https://nowhere-${suffix}.example/api`;

let server: TestServer;
let agent: TestAgent;
let multi: TestAgent;
let expectRefusal: ReturnType<typeof refusalChecker>;

beforeAll(async () => {
  server = await startTestServer();
  await registerResource(server, { id: CALENDAR, scopes: ['calendar.read', 'calendar.write'] });
  await registerResource(server, { id: MAIL, scopes: ['mail.read'] });
  agent = await registerAgent(server, {
    id: `cc-agent-${suffix}`,
    allowedScopes: ['calendar.read', 'calendar.write', 'mail.read', 'unaccepted'],
    allowedAudiences: [CALENDAR, UNREGISTERED],
    tokenTtlSeconds: 120,
  });
  multi = await registerAgent(server, {
    id: `cc-multi-${suffix}`,
    tokenEndpointAuthMethod: 'client_secret_post',
    allowedScopes: ['calendar.read', 'mail.read'],
    allowedAudiences: [CALENDAR, MAIL],
  });
  expectRefusal = refusalChecker(server, () =>
    requestToken(server, agent, { grant_type: 'client_credentials', audience: CALENDAR }),
  );
});

afterAll(async () => {
  await server?.close();
});

describe('client_credentials', () => {
  it("issues the agent's own RFC 9068 token with the claims of CONTRACT §3.3", async () => {
    const { token, claims, response } = await agentToken(server, agent, {
      audience: CALENDAR,
      scope: 'calendar.read',
    });

    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('pragma')).toBe('no-cache');
    expect(response.body).toMatchObject({ token_type: 'Bearer', expires_in: 120, scope: 'calendar.read' });
    expect(response.body).not.toHaveProperty('refresh_token');

    const header = decodeProtectedHeader(token);
    expect(header).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });
    const jwks = (await (await fetch(`${server.baseUrl}/jwks`)).json()) as { keys: { kid: string }[] };
    expect(jwks.keys.map((key) => key.kid)).toContain(header.kid);

    const verified = await verifyAsResourceServer(server, token, CALENDAR);
    expect(verified).toEqual(claims);
    expect(claims).toMatchObject({
      iss: server.baseUrl,
      sub: agent.id,
      client_id: agent.id,
      aud: CALENDAR,
      scope: 'calendar.read',
    });
    expect(typeof claims.jti).toBe('string');
    expect(typeof claims.txn).toBe('string');
    expect(claims).not.toHaveProperty('act');
    expect(claims.nbf).toBe(claims.iat);
    expect((claims.exp as number) - (claims.iat as number)).toBe(120);

    const row = await server.database.prisma.issuedToken.findUnique({ where: { jti: claims.jti as string } });
    expect(row).toMatchObject({
      sub: agent.id,
      clientId: agent.id,
      aud: CALENDAR,
      depth: 0,
      txn: claims.txn,
    });
    const audit = await server.database.prisma.auditEvent.findFirst({ where: { jti: claims.jti as string } });
    expect(audit).toMatchObject({ decision: 'granted', rule: 'granted', clientId: agent.id });
  });

  it('gives every token its own jti and starts a new chain each time', async () => {
    const first = await agentToken(server, agent, { audience: CALENDAR });
    const second = await agentToken(server, agent, { audience: CALENDAR });
    expect(first.claims.jti).not.toBe(second.claims.jti);
    expect(first.claims.txn).not.toBe(second.claims.txn);
  });

  it('accepts the target as an RFC 8707 resource as well as an audience', async () => {
    const { claims } = await agentToken(server, agent, { resource: CALENDAR, scope: 'calendar.write' });
    expect(claims).toMatchObject({ aud: CALENDAR, scope: 'calendar.write' });
  });

  it('grants, when no scope is asked, what the agent holds and the audience accepts', async () => {
    const { claims, response } = await agentToken(server, agent, { audience: CALENDAR });
    // Not mail.read (the calendar does not accept it), not `unaccepted`, never "empty means all".
    expect(response.body.scope).toBe('calendar.read calendar.write');
    expect(claims.scope).toBe('calendar.read calendar.write');
  });

  it('uses the only allowed audience when none is given', async () => {
    const single = await registerAgent(server, {
      id: `cc-single-${suffix}`,
      allowedScopes: ['mail.read'],
      allowedAudiences: [MAIL],
    });
    const { claims } = await agentToken(server, single);
    expect(claims).toMatchObject({ aud: MAIL, scope: 'mail.read', sub: single.id });
  });

  it('refuses a scope outside the agent allowlist (invalid_scope)', async () => {
    await expectRefusal(
      () =>
        requestToken(server, agent, { grant_type: 'client_credentials', audience: CALENDAR, scope: 'admin' }),
      { status: 400, error: 'invalid_scope', rule: 'scope_escalation' },
    );
  });

  it('refuses a scope the agent holds but the audience does not accept (invalid_scope)', async () => {
    await expectRefusal(
      () =>
        requestToken(server, agent, {
          grant_type: 'client_credentials',
          audience: CALENDAR,
          scope: 'calendar.read mail.read',
        }),
      { status: 400, error: 'invalid_scope', rule: 'scope_escalation' },
    );
  });

  it('refuses a registered audience that is not in the agent allowlist (invalid_target)', async () => {
    await expectRefusal(
      () => requestToken(server, agent, { grant_type: 'client_credentials', audience: MAIL }),
      { status: 400, error: 'invalid_target', rule: 'target_not_allowed' },
    );
  });

  it('refuses an allowed but unregistered audience (invalid_target)', async () => {
    await expectRefusal(
      () => requestToken(server, agent, { grant_type: 'client_credentials', audience: UNREGISTERED }),
      { status: 400, error: 'invalid_target', rule: 'target_not_registered' },
    );
  });

  it('refuses a request without a target when several audiences are allowed (invalid_target)', async () => {
    await expectRefusal(() => requestToken(server, multi, { grant_type: 'client_credentials' }), {
      status: 400,
      error: 'invalid_target',
      rule: 'target_missing',
    });
  });

  it('refuses two targets in one request (invalid_target)', async () => {
    await expectRefusal(
      () => requestToken(server, multi, { grant_type: 'client_credentials', audience: [CALENDAR, MAIL] }),
      { status: 400, error: 'invalid_target', rule: 'target_not_allowed' },
    );
  });

  it('refuses an agent that is not allowed the client_credentials grant (unauthorized_client)', async () => {
    const exchangeOnly = await registerAgent(server, {
      id: `cc-exchange-only-${suffix}`,
      allowedScopes: ['calendar.read'],
      allowedAudiences: [CALENDAR],
      grantTypes: ['urn:ietf:params:oauth:grant-type:token-exchange'],
    });
    await expectRefusal(() => requestToken(server, exchangeOnly, { grant_type: 'client_credentials' }), {
      status: 400,
      error: 'unauthorized_client',
      rule: 'grant_type_not_allowed',
      basic: true,
    });
  });

  it('issues an admin token for the issuer, the implicit audience that accepts only sts:admin', async () => {
    const operator = await registerAgent(server, {
      id: `cc-operator-${suffix}`,
      allowedScopes: ['sts:admin', 'calendar.read'],
      allowedAudiences: [server.baseUrl, CALENDAR],
    });
    const { token, claims } = await agentToken(server, operator, { audience: server.baseUrl });
    expect(claims).toMatchObject({ aud: server.baseUrl, scope: 'sts:admin', sub: operator.id });
    const listed = await fetch(`${server.baseUrl}/admin/agents`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(listed.status).toBe(200);

    await expectRefusal(
      () =>
        requestToken(server, operator, {
          grant_type: 'client_credentials',
          audience: server.baseUrl,
          scope: 'sts:admin calendar.read',
        }),
      { status: 400, error: 'invalid_scope', rule: 'scope_escalation' },
    );
    // sts:admin is good for the issuer alone.
    await expectRefusal(
      () =>
        requestToken(server, operator, {
          grant_type: 'client_credentials',
          audience: CALENDAR,
          scope: 'sts:admin',
        }),
      { status: 400, error: 'invalid_scope', rule: 'scope_escalation' },
    );
  });

  it('refuses the issuer audience to an agent without sts:admin, or without the issuer in its allowlist', async () => {
    const noScope = await registerAgent(server, {
      id: `cc-no-admin-scope-${suffix}`,
      allowedScopes: ['calendar.read'],
      allowedAudiences: [server.baseUrl, CALENDAR],
    });
    await expectRefusal(
      () => requestToken(server, noScope, { grant_type: 'client_credentials', audience: server.baseUrl }),
      { status: 400, error: 'invalid_scope', rule: 'scope_empty', basic: true },
    );
    const noAudience = await registerAgent(server, {
      id: `cc-no-admin-aud-${suffix}`,
      allowedScopes: ['sts:admin', 'calendar.read'],
      allowedAudiences: [CALENDAR],
    });
    await expectRefusal(
      () => requestToken(server, noAudience, { grant_type: 'client_credentials', audience: server.baseUrl }),
      { status: 400, error: 'invalid_target', rule: 'target_not_allowed' },
    );
  });
});
