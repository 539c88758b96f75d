/**
 * The SET outbox against the real database (ADR 0026): its rows commit or roll back with the
 * revocation that writes them, a receiver hears only of its audiences, large revocations are cut
 * into bounded SETs, and concurrent workers never claim one row twice.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../src/infra/database.js';
import { LineageStore, type IssuedTokenRecord } from '../../../src/infra/lineage-store.js';
import { MAX_JTIS_PER_SET, SecurityEventStore } from '../../../src/infra/security-events.js';
import { openMigratedDatabase } from '../../helpers/server.js';

describe('SET outbox', () => {
  let database: Database;
  let close: () => Promise<void>;
  let lineage: LineageStore;
  let store: SecurityEventStore;

  beforeAll(async () => {
    ({ database, close } = await openMigratedDatabase());
    lineage = new LineageStore(database.prisma, undefined, {
      onRevoked: SecurityEventStore.recordRevocation,
    });
    store = new SecurityEventStore(database.prisma);
    await database.prisma.setReceiver.createMany({
      data: [
        {
          id: 'rx-api',
          audience: 'rx-api',
          delivery: 'push',
          endpointUrl: 'https://rx.example/e',
          audiences: ['api'],
        },
        {
          id: 'rx-other',
          audience: 'rx-other',
          delivery: 'push',
          endpointUrl: 'https://o.example/e',
          audiences: ['other'],
        },
      ],
    });
  });

  afterAll(async () => {
    await close();
  });

  async function issue(aud: string, overrides: Partial<IssuedTokenRecord> = {}): Promise<IssuedTokenRecord> {
    const now = new Date();
    const token: IssuedTokenRecord = {
      jti: randomUUID(),
      parentJti: null,
      txn: randomUUID(),
      depth: 0,
      sub: 'agent-a',
      clientId: 'agent-a',
      chainAgents: ['agent-a'],
      aud,
      scope: 'read',
      grantType: 'client_credentials',
      impersonation: false,
      subjectIsAgent: true,
      depthLimit: null,
      rootIssuer: null,
      jkt: null,
      issuedAt: now,
      expiresAt: new Date(now.getTime() + 300_000),
      ...overrides,
    };
    await lineage.recordIssuance(token, {
      decision: 'granted',
      rule: 'granted',
      jti: token.jti,
      txn: token.txn,
    });
    return token;
  }

  const by = { clientId: null, description: 'test' };

  it('writes the SET in the revocation transaction, for the receiver of that audience only', async () => {
    const token = await issue('api');
    await lineage.revokeTree([token.jti], by);
    const rows = await database.prisma.securityEvent.findMany({ where: { jtis: { has: token.jti } } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      receiverId: 'rx-api',
      jtis: [token.jti],
      txns: [],
      reason: 'revocation_endpoint',
      status: 'pending',
    });
    expect(rows[0]!.tokensExpireAt.getTime()).toBe(token.expiresAt.getTime());
  });

  it('rolls the SET back with a revocation that fails after writing it', async () => {
    const token = await issue('api');
    const failing = new LineageStore(database.prisma, undefined, {
      onRevoked: async (tx, revoked, revoker) => {
        await SecurityEventStore.recordRevocation(tx, revoked, revoker);
        throw new Error('crash after the outbox write');
      },
    });
    await expect(failing.revokeTree([token.jti], by)).rejects.toThrow('crash after the outbox write');
    expect((await lineage.standing(token.jti))?.revoked).toBe(false);
    expect(await database.prisma.securityEvent.count({ where: { jtis: { has: token.jti } } })).toBe(0);
  });

  it('names the chain when an admin revokes it whole', async () => {
    const root = await issue('api');
    await lineage.revokeByTxn(root.txn, {
      ...by,
      admin: {
        actor: { kind: 'admin_token' },
        requestId: 'test',
        targetType: 'chain',
        targetId: root.txn,
      },
    });
    const [row] = await database.prisma.securityEvent.findMany({ where: { jtis: { has: root.jti } } });
    expect(row).toMatchObject({ txns: [root.txn], reason: 'admin' });
  });

  it('leaves out tokens that expired long ago', async () => {
    const old = await issue('api', { expiresAt: new Date(Date.now() - 3600_000) });
    await lineage.revokeTree([old.jti], by);
    expect(await database.prisma.securityEvent.count({ where: { jtis: { has: old.jti } } })).toBe(0);
  });

  it(`cuts a large revocation into SETs of at most ${MAX_JTIS_PER_SET} tokens`, async () => {
    const root = await issue('api');
    const children = MAX_JTIS_PER_SET + 5;
    await database.prisma.$executeRaw`
      INSERT INTO issued_tokens (jti, parent_jti, txn, depth, sub, client_id, chain_agents, aud, scope, grant_type,
        impersonation, subject_is_agent, issued_at, expires_at, chain_started_at)
      SELECT gen_random_uuid()::text, ${root.jti}, ${root.txn}, 1, 'agent-a', 'agent-a', ARRAY['agent-a'], 'api',
        'read', 'client_credentials', false, true, now(), ${root.expiresAt}, ${root.issuedAt}
      FROM generate_series(1, ${children})`;
    await lineage.revokeTree([root.jti], by);
    const rows = await database.prisma.securityEvent.findMany({
      where: { receiverId: 'rx-api', jtis: { has: root.jti } },
    });
    const all = await database.prisma.securityEvent.findMany({
      where: { receiverId: 'rx-api', revokedAt: rows[0]!.revokedAt },
    });
    expect(all.map((row) => row.jtis.length).sort((a, b) => a - b)).toEqual([6, MAX_JTIS_PER_SET]);
  });

  it('never lets two concurrent workers claim the same row', async () => {
    await database.prisma.securityEvent.updateMany({ data: { status: 'delivered' } });
    for (let index = 0; index < 30; index++) await lineage.revokeTree([(await issue('api')).jti], by);
    const [first, second] = await Promise.all([store.claimDue(20, 60_000), store.claimDue(20, 60_000)]);
    const claimed = [...first, ...second].map((event) => event.jti);
    expect(claimed).toHaveLength(30);
    expect(new Set(claimed).size).toBe(30);
    expect([...first, ...second].every((event) => event.attempt === 1)).toBe(true);
    // Leased: nobody claims them again until the lease ends.
    expect(await store.claimDue(20, 60_000)).toEqual([]);
  });
});
