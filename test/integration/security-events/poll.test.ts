/**
 * ADR 0026, poll mode (RFC 8936): a resource server that cannot receive pushes polls agent-sts
 * with its bearer secret; revocations converge into its deny-list, each SET stays pending until
 * acknowledged, and the poll endpoint refuses anyone without the secret.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminApi } from '../admin/admin-client.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { registerWorld } from '../sdk/helpers.js';
import { eventually, startReceiver, type ReceiverProcess } from './receiver-process.js';

let server: TestServer;
let world: Awaited<ReturnType<typeof registerWorld>>;
let receiver: ReceiverProcess;
let pollSecret: string;

function adminRequest(method: string, path: string, body?: unknown) {
  return adminApi(server).call(method, path, body);
}

function poll(body: unknown, secret: string | null = pollSecret) {
  return fetch(`${server.baseUrl}/security-events/poll`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(secret === null ? {} : { authorization: `Bearer ${secret}` }),
    },
    body: JSON.stringify(body),
  });
}

beforeAll(async () => {
  server = await startTestServer();
  world = await registerWorld(server);
  const created = await adminRequest('POST', '/admin/set-receivers', {
    id: 'calendar-poller',
    audience: world.calendar,
    delivery: 'poll',
    audiences: [world.calendar],
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  expect(created.body).toMatchObject({ delivery: 'poll', endpointUrl: null, hasAuthorization: false });
  pollSecret = created.body.pollSecret as string;
  expect(pollSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
  receiver = await startReceiver({
    ISSUER: server.baseUrl,
    SET_AUDIENCE: world.calendar,
    API_AUDIENCE: world.calendar,
    POLL_SECRET: pollSecret,
    POLL_INTERVAL_MS: '200',
  });
}, 120_000);

afterAll(async () => {
  await receiver?.kill();
  await server?.close();
});

describe('poll delivery of revocation SETs', () => {
  it('names the poll endpoint and both delivery methods in the discovery metadata', async () => {
    const metadata = (await (
      await fetch(`${server.baseUrl}/.well-known/oauth-authorization-server`)
    ).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({
      security_event_poll_endpoint: `${server.baseUrl}/security-events/poll`,
      security_event_delivery_methods_supported: ['urn:ietf:rfc:8935', 'urn:ietf:rfc:8936'],
      security_event_types_supported: ['https://agent-sts.dev/secevent/tokens-revoked'],
    });
  });

  it('converges: the polling API refuses a token once an admin revoked it, and the SET is acknowledged', async () => {
    const token = await world.hop2();
    const { jti, txn } = decodeJwt(token);
    expect((await receiver.call(token)).status).toBe(200);

    expect((await adminRequest('POST', '/admin/revocations', { jti })).status).toBe(200);
    const refused = await eventually(
      () => receiver.call(token),
      (answer) => answer.status !== 200,
    );
    expect(refused).toEqual({ status: 401, body: { code: 'token_revoked', error: 'invalid_token' } });

    const row = await eventually(
      () => server.database.prisma.securityEvent.findFirst({ where: { jtis: { has: jti as string } } }),
      (event) => event?.status === 'delivered',
    );
    const audit = await server.database.prisma.auditEvent.findFirst({
      where: { rule: 'security_event_delivered', jti: row!.jti },
    });
    expect(audit).toMatchObject({ decision: 'granted', audience: world.calendar });
    expect(audit!.description).toContain('calendar-poller');
    // Revoked by jti: the chain id is not listed, only the token.
    expect(row!.txns).toEqual([]);
    expect((await receiver.received()).find((revocation) => revocation.id === row!.jti)?.jtis).toEqual([jti]);
    expect(txn).toBeTypeOf('string');
  });

  it('keeps a SET pending, and sends it again, until it is acknowledged', async () => {
    await receiver.kill(); // this test polls by hand
    const token = await world.hop0();
    const { jti } = decodeJwt(token);
    expect((await adminRequest('POST', '/admin/revocations', { jti })).status).toBe(200);

    const first = (await (await poll({ maxEvents: 10, returnImmediately: true })).json()) as {
      sets: Record<string, string>;
      moreAvailable: boolean;
    };
    const setJti = Object.keys(first.sets).find((key) => decodeJwt(first.sets[key]!).jti === key);
    expect(setJti).toBeDefined();
    expect(first.moreAvailable).toBe(false);
    const again = (await (await poll({ returnImmediately: true })).json()) as {
      sets: Record<string, string>;
    };
    expect(Object.keys(again.sets)).toContain(setJti);

    const acked = (await (await poll({ ack: [setJti], maxEvents: 0 })).json()) as {
      sets: Record<string, string>;
    };
    expect(acked.sets).toEqual({});
    const after = (await (await poll({})).json()) as { sets: Record<string, string> };
    expect(Object.keys(after.sets)).not.toContain(setJti);
    expect((await server.database.prisma.securityEvent.findUnique({ where: { jti: setJti! } }))?.status).toBe(
      'delivered',
    );
  });

  it('records a SET the receiver reports in setErrs as failed', async () => {
    const token = await world.hop0();
    expect((await adminRequest('POST', '/admin/revocations', { jti: decodeJwt(token).jti })).status).toBe(
      200,
    );
    const { sets } = (await (await poll({})).json()) as { sets: Record<string, string> };
    const [setJti] = Object.keys(sets);
    const answer = await poll({ setErrs: { [setJti!]: { err: 'invalid_key', description: 'no such key' } } });
    expect(answer.status).toBe(200);
    const row = await server.database.prisma.securityEvent.findUnique({ where: { jti: setJti! } });
    expect(row).toMatchObject({ status: 'failed', lastError: 'invalid_key: no such key' });
    const audit = await server.database.prisma.auditEvent.findFirst({
      where: { rule: 'security_event_abandoned', jti: setJti! },
    });
    expect(audit).toMatchObject({ decision: 'denied' });
  });

  it.each([
    ['no secret', null],
    ['a wrong secret', 'not-the-secret'],
  ])('refuses a poll with %s: 401 authentication_failed, nothing acknowledged', async (_, secret) => {
    const token = await world.hop0();
    expect((await adminRequest('POST', '/admin/revocations', { jti: decodeJwt(token).jti })).status).toBe(
      200,
    );
    const pending = await server.database.prisma.securityEvent.findMany({ where: { status: 'pending' } });
    const answer = await poll({ ack: pending.map((row) => row.jti) }, secret);
    expect(answer.status).toBe(401);
    expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(await answer.json()).toMatchObject({ err: 'authentication_failed' });
    const still = await server.database.prisma.securityEvent.count({
      where: { jti: { in: pending.map((row) => row.jti) }, status: 'pending' },
    });
    expect(still).toBe(pending.length);
  });

  it.each([
    ['an unknown member', { since: 3 }],
    ['a negative maxEvents', { maxEvents: -1 }],
    ['ack that is not a list of strings', { ack: 'abc' }],
    ['setErrs without err', { setErrs: { x: { description: 'y' } } }],
  ])('refuses %s with 400 invalid_request', async (_, body) => {
    const answer = await poll(body);
    expect(answer.status).toBe(400);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(await answer.json()).toMatchObject({ err: 'invalid_request' });
  });
});
