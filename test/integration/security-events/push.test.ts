/**
 * ADR 0026, push mode end to end: an admin revocation reaches a resource server that holds only the
 * JWKS, as an RFC 8935 push of an RFC 8417 SET, and its API refuses the token from then on. The
 * receiver is the SDK in a process of its own, over real HTTP; every delivery is audited.
 */
import { SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminApi } from '../admin/admin-client.js';
import { freePort, startTestServer, type TestServer } from '../../helpers/server.js';
import { signRevocationSet } from '../../../src/protocol/security-event-token.js';
import { agentToken } from '../../helpers/oauth.js';
import { revoke } from '../introspection-revocation/helpers.js';
import { registerWorld } from '../sdk/helpers.js';
import { eventually, startReceiver, type ReceiverProcess } from './receiver-process.js';

let server: TestServer;
let world: Awaited<ReturnType<typeof registerWorld>>;
let receiver: ReceiverProcess;
let receiverEnv: Record<string, string>;
let receiverId: string;
const PUSH_AUTHORIZATION = 'Bearer push-secret-of-the-calendar';

function adminRequest(method: string, path: string, body?: unknown) {
  return adminApi(server).call(method, path, body);
}

interface EventRow {
  jti: string;
  status: string;
  attempts: number;
  jtis: string[];
  txns: string[];
  lastError: string | null;
}

async function events(id = receiverId): Promise<EventRow[]> {
  const response = await adminRequest('GET', `/admin/set-receivers/${encodeURIComponent(id)}/events`);
  expect(response.status).toBe(200);
  return response.body.items as EventRow[];
}

function audits(rule: string, jti: string) {
  return server.database.prisma.auditEvent.findMany({ where: { rule, jti }, orderBy: { id: 'asc' } });
}

beforeAll(async () => {
  server = await startTestServer({
    env: {
      ALLOW_LOOPBACK_HTTP_JWKS: 'true',
      SET_DELIVERY_INTERVAL_MS: '100',
      SET_DELIVERY_RETRY_BASE_MS: '200',
      SET_DELIVERY_RETRY_MAX_MS: '1000',
      SET_DELIVERY_MAX_ATTEMPTS: '100',
    },
  });
  world = await registerWorld(server);
  const port = await freePort();
  receiverEnv = {
    ISSUER: server.baseUrl,
    SET_AUDIENCE: world.calendar,
    API_AUDIENCE: world.calendar,
    PORT: String(port),
    AUTHORIZATION: PUSH_AUTHORIZATION,
  };
  receiver = await startReceiver(receiverEnv);
  const created = await adminRequest('POST', '/admin/set-receivers', {
    id: 'calendar-receiver',
    audience: world.calendar,
    delivery: 'push',
    endpointUrl: `${receiver.url}/security-events`,
    authorization: PUSH_AUTHORIZATION,
    audiences: [world.calendar],
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  receiverId = created.body.id as string;
}, 120_000);

afterAll(async () => {
  await receiver?.kill();
  await server?.close();
});

describe('push delivery of revocation SETs', () => {
  it('pushes a SET after an admin revokes a chain, and the API refuses the token afterwards', async () => {
    const token = await world.hop1();
    const claims = decodeJwt(token);
    expect((await receiver.call(token)).status).toBe(200);

    const revoked = await adminRequest('POST', '/admin/revocations', { txn: claims.txn });
    expect(revoked.status).toBe(200);

    const refused = await eventually(
      () => receiver.call(token),
      (answer) => answer.status !== 200,
    );
    expect(refused).toEqual({ status: 401, body: { code: 'token_revoked', error: 'invalid_token' } });

    // The receiver applies the SET before it answers 202; the transmitter records it right after.
    const event = await eventually(
      async () => (await events()).find((row) => row.txns.includes(claims.txn as string)),
      (row) => row?.status === 'delivered',
    );
    expect(event).toMatchObject({ attempts: 1, jtis: [claims.jti] });
    const received = (await receiver.received()).find((revocation) => revocation.id === event!.jti);
    expect(received).toMatchObject({ jtis: [claims.jti], txns: [claims.txn], reason: 'admin' });
    const [audit] = await audits('security_event_delivered', event!.jti);
    expect(audit).toMatchObject({ decision: 'granted', audience: world.calendar, txn: claims.txn });
  });

  it('pushes revocations an agent makes at the RFC 7009 endpoint too', async () => {
    const token = await world.hop1();
    const { jti } = decodeJwt(token);
    const revoked = await revoke(server, world.agentB, token);
    expect(revoked.status).toBe(200);
    expect(
      await eventually(
        () => receiver.call(token),
        (answer) => answer.status !== 200,
      ),
    ).toEqual({ status: 401, body: { code: 'token_revoked', error: 'invalid_token' } });
    const event = await eventually(
      async () => (await events()).find((row) => row.jtis.includes(jti as string)),
      (row) => row?.status === 'delivered',
    );
    expect((await receiver.received()).find((revocation) => revocation.id === event!.jti)?.reason).toBe(
      'revocation_endpoint',
    );
  });

  it('tells the receiver only of revoked tokens addressed to its audiences', async () => {
    const forB = (await agentToken(server, world.agentA, { audience: world.ids.b })).claims;
    const before = (await events()).length;
    expect((await adminRequest('POST', '/admin/revocations', { jti: forB.jti })).status).toBe(200);
    const outbox = await server.database.prisma.securityEvent.count({ where: { receiverId } });
    expect(outbox).toBe(before);
  });

  it('retries while the receiver is down and delivers once it is back', async () => {
    const token = await world.hop0();
    const { jti } = decodeJwt(token);
    await receiver.kill();

    expect((await adminRequest('POST', '/admin/revocations', { jti })).status).toBe(200);
    const pending = await eventually(
      async () => (await events()).find((row) => row.jtis.includes(jti as string)),
      (row) => row !== undefined && row.attempts >= 2,
    );
    expect(pending!.status).toBe('pending');
    expect(pending!.lastError).toMatch(/^unreachable: /);
    expect((await audits('security_event_delivery_failed', pending!.jti)).length).toBeGreaterThanOrEqual(1);

    receiver = await startReceiver(receiverEnv);
    const delivered = await eventually(
      async () => (await events()).find((row) => row.jti === pending!.jti),
      (row) => row?.status === 'delivered',
    );
    expect(delivered!.attempts).toBeGreaterThanOrEqual(3);
    expect(await audits('security_event_delivered', pending!.jti)).toHaveLength(1);
    expect(await receiver.call(token)).toEqual({
      status: 401,
      body: { code: 'token_revoked', error: 'invalid_token' },
    });
  });

  it('signs SETs as RFC 8417 says: typ secevent+jwt, the active key, no exp', async () => {
    const active = server.app.sts.keys().active;
    const set = await signRevocationSet(
      {
        jti: 'set-shape',
        audience: world.calendar,
        jtis: ['a'],
        txns: [],
        reason: 'admin',
        revokedAt: new Date(),
        tokensExpireAt: new Date(Date.now() + 60_000),
      },
      server.baseUrl,
      active,
    );
    expect(decodeProtectedHeader(set)).toEqual({ alg: 'ES256', kid: active.kid, typ: 'secevent+jwt' });
    const payload = decodeJwt(set);
    expect(payload).not.toHaveProperty('exp');
    expect(payload).not.toHaveProperty('sub');
    expect(payload).toMatchObject({
      iss: server.baseUrl,
      aud: world.calendar,
      jti: 'set-shape',
      events: { 'https://agent-sts.dev/secevent/tokens-revoked': { jtis: ['a'], reason: 'admin' } },
    });
  });
});

describe('the SDK receiver refuses SETs it must not trust', () => {
  const event = (overrides: Record<string, unknown> = {}) => ({
    jti: `set-${Math.random().toString(36).slice(2)}`,
    audience: world.calendar,
    jtis: [] as string[],
    txns: [] as string[],
    reason: 'admin',
    revokedAt: new Date(),
    tokensExpireAt: new Date(Date.now() + 300_000),
    ...overrides,
  });
  const auth = { authorization: PUSH_AUTHORIZATION };

  async function expectRefused(
    body: string,
    status: number,
    err: string | null,
    token: string,
    headers = auth,
  ) {
    const answer = await receiver.push(body, headers);
    expect(answer.status).toBe(status);
    if (err) expect(JSON.parse(answer.body)).toMatchObject({ err });
    // Nothing changed: the token named in the SET is still accepted.
    expect((await receiver.call(token)).status).toBe(200);
  }

  it('refuses a SET signed by another key under the service kid (invalid_key)', async () => {
    const token = await world.hop0();
    const forged = await generateKeyPair('ES256');
    const active = server.app.sts.keys().active;
    const set = await signRevocationSet(event({ jtis: [decodeJwt(token).jti] }), server.baseUrl, {
      kid: active.kid,
      alg: 'ES256',
      privateKey: forged.privateKey,
    });
    await expectRefused(set, 400, 'invalid_key', token);
  });

  it('refuses a SET for another audience (invalid_audience)', async () => {
    const token = await world.hop0();
    const set = await signRevocationSet(
      event({ jtis: [decodeJwt(token).jti], audience: 'https://elsewhere.example/api' }),
      server.baseUrl,
      server.app.sts.keys().active,
    );
    await expectRefused(set, 400, 'invalid_audience', token);
  });

  it('refuses a SET from another issuer (invalid_issuer)', async () => {
    const token = await world.hop0();
    const set = await signRevocationSet(
      event({ jtis: [decodeJwt(token).jti] }),
      'https://other.example',
      server.app.sts.keys().active,
    );
    await expectRefused(set, 400, 'invalid_issuer', token);
  });

  it('refuses a JWT of another type signed by the service key (invalid_request)', async () => {
    const token = await world.hop0();
    const active = server.app.sts.keys().active;
    const now = Math.floor(Date.now() / 1000);
    const accessTokenShaped = await new SignJWT({
      events: {
        'https://agent-sts.dev/secevent/tokens-revoked': {
          jtis: [decodeJwt(token).jti],
          reason: 'x',
          expires_at: now + 300,
        },
      },
    })
      .setProtectedHeader({ alg: 'ES256', kid: active.kid, typ: 'at+jwt' })
      .setIssuer(server.baseUrl)
      .setAudience(world.calendar)
      .setIssuedAt(now)
      .setJti('typ-confusion')
      .sign(active.privateKey);
    await expectRefused(accessTokenShaped, 400, 'invalid_request', token);
  });

  it('refuses a push without the registered authorization (authentication_failed, 401)', async () => {
    const token = await world.hop0();
    const set = await signRevocationSet(
      event({ jtis: [decodeJwt(token).jti] }),
      server.baseUrl,
      server.app.sts.keys().active,
    );
    await expectRefused(set, 401, 'authentication_failed', token, { authorization: 'Bearer wrong' });
    await expectRefused(set, 401, 'authentication_failed', token, {} as typeof auth);
  });

  it('refuses a replayed SET, which changes nothing', async () => {
    const first = await world.hop0();
    const second = await world.hop0();
    const jti = `replayed-${Math.random().toString(36).slice(2)}`;
    const set = await signRevocationSet(
      event({ jti, jtis: [decodeJwt(first).jti] }),
      server.baseUrl,
      server.app.sts.keys().active,
    );
    expect((await receiver.push(set, auth)).status).toBe(202);
    expect((await receiver.call(first)).status).toBe(401);
    // The same jti again, even re-signed with other contents: refused, and the second token lives.
    const replay = await signRevocationSet(
      event({ jti, jtis: [decodeJwt(second).jti] }),
      server.baseUrl,
      server.app.sts.keys().active,
    );
    await expectRefused(replay, 400, 'invalid_request', second);
  });

  it('refuses a body that is not a SET, or not sent as one', async () => {
    const token = await world.hop0();
    await expectRefused('not a jwt', 400, 'invalid_request', token);
    const set = await signRevocationSet(
      event({ jtis: [decodeJwt(token).jti] }),
      server.baseUrl,
      server.app.sts.keys().active,
    );
    await expectRefused(set, 400, 'invalid_request', token, {
      ...auth,
      'content-type': 'application/json',
    } as typeof auth);
  });
});

describe('giving up', () => {
  it('marks a SET the receiver refuses as failed at once, audited', async () => {
    // Registered with a SET audience the receiver does not answer to: it refuses with invalid_audience.
    const created = await adminRequest('POST', '/admin/set-receivers', {
      id: 'misconfigured-receiver',
      audience: 'https://not-the-calendar.example',
      delivery: 'push',
      endpointUrl: `${receiver.url}/security-events`,
      authorization: PUSH_AUTHORIZATION,
      audiences: [world.calendar],
    });
    expect(created.status).toBe(201);
    const token = await world.hop0();
    expect((await adminRequest('POST', '/admin/revocations', { jti: decodeJwt(token).jti })).status).toBe(
      200,
    );
    const failed = await eventually(
      async () => (await events('misconfigured-receiver'))[0],
      (row) => row?.status === 'failed',
    );
    expect(failed).toMatchObject({ attempts: 1, lastError: 'refused: invalid_audience' });
    const [audit] = await audits('security_event_abandoned', failed!.jti);
    expect(audit).toMatchObject({ decision: 'denied' });
    expect(audit!.description).toContain('misconfigured-receiver');
    expect((await adminRequest('DELETE', '/admin/set-receivers/misconfigured-receiver')).status).toBe(204);
  });
});
