/**
 * ADR 0026: several instances share the SET outbox and its delivery, and never post one SET twice
 * at once. Two instances on one PostgreSQL both look at the outbox every 50 ms while revocations
 * are made on each; every SET reaches the SDK receiver process exactly once: one
 * `security_event_delivered` audit row per SET and no refusal (a second post of a SET would be
 * refused by the receiver as a replay and recorded as `security_event_abandoned`).
 *
 * Two instances cannot share one embedded PGlite: on PGlite this file is skipped.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { adminApi } from '../admin/admin-client.js';
import { eventually, startReceiver, type ReceiverProcess } from '../security-events/receiver-process.js';
import { registerWorld } from '../sdk/helpers.js';

const SETS = 24;

describe.runIf(process.env.DATABASE_URL)('SET delivery across instances', () => {
  let first: TestServer;
  let second: TestServer;
  let receiver: ReceiverProcess;
  let world: Awaited<ReturnType<typeof registerWorld>>;

  beforeAll(async () => {
    const env = { ALLOW_LOOPBACK_HTTP_JWKS: 'true', SET_DELIVERY_INTERVAL_MS: '50' };
    first = await startTestServer({ env });
    second = await startTestServer({
      keepData: true,
      env: { ...env, ISSUER: first.config.issuer, ADMIN_TOKEN: first.adminToken },
    });
    world = await registerWorld(first);
    receiver = await startReceiver({
      ISSUER: first.config.issuer,
      SET_AUDIENCE: world.calendar,
      API_AUDIENCE: world.calendar,
    });
    const created = await adminApi(first).post('/admin/set-receivers', {
      id: 'shared-receiver',
      audience: world.calendar,
      delivery: 'push',
      endpointUrl: `${receiver.url}/security-events`,
      audiences: [world.calendar],
    });
    expect(created.status).toBe(201);
  }, 120_000);

  afterAll(async () => {
    await receiver?.kill();
    await second?.close();
    await first?.close();
  });

  it('delivers every SET exactly once while both instances push', async () => {
    const tokens = await Promise.all(Array.from({ length: SETS }, () => world.hop0()));
    await Promise.all(
      tokens.map((token, index) =>
        adminApi(index % 2 === 0 ? first : second).post('/admin/revocations', { jti: decodeJwt(token).jti }),
      ),
    );
    const prisma = first.database.prisma;
    const delivered = await eventually(
      () => prisma.securityEvent.findMany({ where: { receiverId: 'shared-receiver' } }),
      (rows) => rows.length === SETS && rows.every((row) => row.status !== 'pending'),
    );
    expect(delivered.every((row) => row.status === 'delivered' && row.attempts === 1)).toBe(true);
    const audits = await prisma.auditEvent.findMany({
      where: { jti: { in: delivered.map((row) => row.jti) }, rule: { startsWith: 'security_event_' } },
    });
    expect(audits.map((audit) => audit.rule)).toEqual(Array(SETS).fill('security_event_delivered'));
    expect(new Set(audits.map((audit) => audit.jti)).size).toBe(SETS);
    const received = await receiver.received();
    expect(new Set(received.map((revocation) => revocation.id))).toEqual(
      new Set(delivered.map((row) => row.jti)),
    );
    for (const token of tokens) expect((await receiver.call(token)).status).toBe(401);
  });
});
