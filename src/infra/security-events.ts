/**
 * Receivers of revocation Security Event Tokens and the outbox of SETs to deliver (ADR 0026).
 *
 * `recordRevocation` runs inside the revocation's own transaction (LineageStore's `onRevoked`): for
 * every receiver that cares about an audience of the revoked tokens, it writes one outbox row per
 * 1,000 of them, in one statement. The row commits with the revocation or not at all, so a crash
 * can lose no push. The delivery worker (set-delivery.ts) claims due push rows with
 * `FOR UPDATE SKIP LOCKED` and a lease, so instances never post the same row at once; poll
 * receivers fetch theirs at the poll endpoint. Every delivery, failure and give-up leaves an
 * audit row written with the row's new state.
 */
import { randomUUID } from 'node:crypto';
import type { RuleCode } from '../domain/types.js';
import { recordAdminEvent, type AdminChange } from './admin-events.js';
import { hashClientSecret } from './client-secrets.js';
import type { PrismaClient, Transaction } from './database.js';
import type { SecurityEvent, SetReceiver } from './generated/prisma/client.js';
import { storableAuditRecord, type RevokedToken, type Revoker } from './lineage-store.js';

export type { SecurityEvent, SetReceiver };

/** Revoked jtis per SET: keeps one SET, and each receiver's request, bounded. */
export const MAX_JTIS_PER_SET = 1000;
/**
 * Tokens that expired this long ago are left out of SETs: nobody accepts them any more. Longer
 * than any clock tolerance a resource server allows (at most 300 s in the SDK).
 */
const EXPIRED_TOKEN_GRACE_SECONDS = 300;

export type DeliveryMethod = 'push' | 'poll';

/** Why tokens were revoked: by an admin, or by an agent at the RFC 7009 endpoint. */
export type RevocationReason = 'admin' | 'revocation_endpoint';

/** One outbox row: what one SET reports to one receiver. */
export interface RevocationEvent {
  /** The SET's `jti`. */
  readonly jti: string;
  /** The receiver's SET `aud`. */
  readonly audience: string;
  readonly jtis: readonly string[];
  readonly txns: readonly string[];
  readonly reason: string;
  readonly revokedAt: Date;
  /** The latest `exp` of the revoked tokens. */
  readonly tokensExpireAt: Date;
}

export interface NewReceiver {
  readonly id: string;
  readonly audience: string;
  readonly delivery: DeliveryMethod;
  readonly endpointUrl: string | null;
  readonly authorizationSealed: string | null;
  readonly pollSecret: string | null;
  readonly audiences: readonly string[];
}

/** A claimed push row, with what its delivery needs. */
export interface DueEvent extends RevocationEvent {
  readonly receiverId: string;
  readonly endpointUrl: string;
  readonly authorizationSealed: string | null;
  /** This attempt's number, from 1. */
  readonly attempt: number;
}

export type DeliveryOutcome =
  | { readonly kind: 'delivered' }
  | { readonly kind: 'retry'; readonly error: string; readonly retryAt: Date }
  | { readonly kind: 'failed'; readonly error: string };

function reasonOf(by: Revoker): RevocationReason {
  return by.admin ? 'admin' : 'revocation_endpoint';
}

export class SecurityEventStore {
  readonly #prisma: PrismaClient;

  constructor(prisma: PrismaClient) {
    this.#prisma = prisma;
  }

  /**
   * The outbox rows of one revocation, in its transaction. A receiver hears of the revoked tokens
   * addressed to one of its audiences (not yet expired), and, when a chain was revoked whole, of
   * its `txn`.
   */
  static async recordRevocation(
    tx: Transaction,
    revoked: readonly RevokedToken[],
    by: Revoker,
  ): Promise<void> {
    const txns = by.admin?.targetType === 'chain' ? [by.admin.targetId] : [];
    await tx.$executeRaw`
      WITH revoked AS (
        SELECT t.jti, t.aud, t.expires_at FROM issued_tokens t
        WHERE t.jti = ANY(${revoked.map((token) => token.jti)}::text[])
          AND t.expires_at > now() - make_interval(secs => ${EXPIRED_TOKEN_GRACE_SECONDS})
      ), matched AS (
        SELECT r.id AS receiver_id, v.jti, v.expires_at,
          (row_number() OVER (PARTITION BY r.id ORDER BY v.jti) - 1) / ${MAX_JTIS_PER_SET} AS chunk
        FROM set_receivers r JOIN revoked v ON v.aud = ANY(r.audiences)
      )
      INSERT INTO security_events (jti, receiver_id, jtis, txns, reason, revoked_at, tokens_expire_at)
      SELECT gen_random_uuid()::text, receiver_id, array_agg(jti ORDER BY jti), ${txns}::text[], ${reasonOf(by)},
        now(), max(expires_at)
      FROM matched GROUP BY receiver_id, chunk`;
  }

  // ---- receivers ------------------------------------------------------------------------------

  async createReceiver(receiver: NewReceiver, by: AdminChange): Promise<SetReceiver> {
    return this.#prisma.$transaction(async (tx) => {
      const row = await tx.setReceiver.create({
        data: {
          id: receiver.id,
          audience: receiver.audience,
          delivery: receiver.delivery,
          endpointUrl: receiver.endpointUrl,
          authorizationSealed: receiver.authorizationSealed,
          pollSecretHash: receiver.pollSecret === null ? null : hashClientSecret(receiver.pollSecret),
          audiences: [...receiver.audiences],
        },
      });
      await recordAdminEvent(tx, by, {
        action: 'set_receiver.created',
        targetType: 'set_receiver',
        targetId: row.id,
        changes: {
          audience: row.audience,
          delivery: row.delivery,
          endpointUrl: row.endpointUrl,
          audiences: row.audiences,
          ...(row.authorizationSealed ? { authorization: '[redacted]' } : {}),
          ...(row.pollSecretHash ? { pollSecret: '[redacted]' } : {}),
        },
      });
      return row;
    });
  }

  getReceiver(id: string): Promise<SetReceiver | null> {
    return this.#prisma.setReceiver.findUnique({ where: { id } });
  }

  listReceivers(page: { after: string | null; take: number }): Promise<SetReceiver[]> {
    return this.#prisma.setReceiver.findMany({
      where: page.after === null ? {} : { id: { gt: page.after } },
      orderBy: { id: 'asc' },
      take: page.take,
    });
  }

  /** Deletes the receiver and its undelivered SETs; false when there is none. */
  async deleteReceiver(id: string, by: AdminChange): Promise<boolean> {
    return this.#prisma.$transaction(async (tx) => {
      const { count } = await tx.setReceiver.deleteMany({ where: { id } });
      if (count === 0) return false;
      await recordAdminEvent(tx, by, {
        action: 'set_receiver.deleted',
        targetType: 'set_receiver',
        targetId: id,
        changes: {},
      });
      return true;
    });
  }

  /** The poll receiver holding this bearer secret, if any (digest lookup; the secret is random). */
  receiverByPollSecret(secret: string): Promise<SetReceiver | null> {
    return this.#prisma.setReceiver.findFirst({
      where: { pollSecretHash: hashClientSecret(secret), delivery: 'poll' },
    });
  }

  /** The receiver's SETs, newest first, for the admin API. */
  eventsOf(receiverId: string, take: number): Promise<SecurityEvent[]> {
    return this.#prisma.securityEvent.findMany({
      where: { receiverId },
      orderBy: [{ createdAt: 'desc' }, { jti: 'asc' }],
      take,
    });
  }

  // ---- push delivery --------------------------------------------------------------------------

  /**
   * Claims up to `limit` due push rows: each gets a lease (its next attempt moved `leaseMs` ahead)
   * in the same statement that picks it, skipping rows another instance holds, so no two
   * instances post one row at once. A worker that dies mid-delivery leaves the row to be retried
   * when the lease ends; the receiver drops the duplicate by its `jti`.
   */
  async claimDue(limit: number, leaseMs: number): Promise<DueEvent[]> {
    const rows = await this.#prisma.$queryRaw<
      {
        jti: string;
        receiver_id: string;
        audience: string;
        endpoint_url: string;
        authorization_sealed: string | null;
        jtis: string[];
        txns: string[];
        reason: string;
        revoked_at: Date;
        tokens_expire_at: Date;
        attempts: number;
      }[]
    >`
      WITH due AS (
        SELECT e.jti FROM security_events e JOIN set_receivers r ON r.id = e.receiver_id
        WHERE e.status = 'pending' AND r.delivery = 'push' AND e.next_attempt_at <= now()
        ORDER BY e.next_attempt_at
        LIMIT ${limit}
        FOR UPDATE OF e SKIP LOCKED
      )
      UPDATE security_events e
      SET attempts = e.attempts + 1, next_attempt_at = now() + make_interval(secs => ${leaseMs / 1000})
      FROM due, set_receivers r
      WHERE e.jti = due.jti AND r.id = e.receiver_id
      RETURNING e.jti, e.receiver_id, r.audience, r.endpoint_url, r.authorization_sealed, e.jtis, e.txns,
        e.reason, e.revoked_at, e.tokens_expire_at, e.attempts`;
    return rows.map((row) => ({
      jti: row.jti,
      receiverId: row.receiver_id,
      audience: row.audience,
      endpointUrl: row.endpoint_url,
      authorizationSealed: row.authorization_sealed,
      jtis: row.jtis,
      txns: row.txns,
      reason: row.reason,
      revokedAt: row.revoked_at,
      tokensExpireAt: row.tokens_expire_at,
      attempt: row.attempts,
    }));
  }

  /** Records how one push attempt ended: the row's new state and its audit row, together. */
  async recordAttempt(event: DueEvent, outcome: DeliveryOutcome): Promise<void> {
    const where = `receiver ${event.receiverId} (attempt ${event.attempt})`;
    const [rule, decision, description] = ((): [RuleCode, 'granted' | 'denied', string] => {
      switch (outcome.kind) {
        case 'delivered':
          return ['security_event_delivered', 'granted', `SET delivered to ${where}`];
        case 'retry':
          return [
            'security_event_delivery_failed',
            'denied',
            `SET not delivered to ${where}: ${outcome.error}`,
          ];
        case 'failed':
          return ['security_event_abandoned', 'denied', `SET given up for ${where}: ${outcome.error}`];
      }
    })();
    await this.#prisma.$transaction([
      this.#prisma.securityEvent.updateMany({
        where: { jti: event.jti, status: 'pending' },
        data:
          outcome.kind === 'delivered'
            ? { status: 'delivered', deliveredAt: new Date(), lastError: null }
            : outcome.kind === 'retry'
              ? { nextAttemptAt: outcome.retryAt, lastError: outcome.error }
              : { status: 'failed', lastError: outcome.error },
      }),
      this.#prisma.auditEvent.create({
        data: storableAuditRecord({
          decision,
          rule,
          audience: event.audience,
          jti: event.jti,
          txn: event.txns.length === 1 ? event.txns[0] : null,
          description,
        }),
      }),
    ]);
  }

  // ---- poll delivery (RFC 8936) ---------------------------------------------------------------

  /** Pending SETs of a poll receiver, oldest first, whose tokens may still be presented. */
  async pending(receiver: SetReceiver, take: number): Promise<RevocationEvent[]> {
    const rows = await this.#prisma.securityEvent.findMany({
      where: { receiverId: receiver.id, status: 'pending', tokensExpireAt: { gt: new Date() } },
      orderBy: [{ createdAt: 'asc' }, { jti: 'asc' }],
      take,
    });
    return rows.map((row) => ({ ...row, audience: receiver.audience }));
  }

  /**
   * RFC 8936 §2.4: `ack`ed SETs are delivered, SETs in `setErrs` failed; each leaves an audit row.
   * Only the receiver's own pending rows change: another receiver's jti is ignored.
   */
  async acknowledge(
    receiver: SetReceiver,
    acks: readonly string[],
    errors: ReadonlyMap<string, string>,
  ): Promise<void> {
    const settle = async (jtis: readonly string[], status: 'delivered' | 'failed', error?: string) => {
      if (jtis.length === 0) return;
      await this.#prisma.$transaction(async (tx) => {
        const rows = await tx.securityEvent.findMany({
          where: { receiverId: receiver.id, status: 'pending', jti: { in: [...jtis] } },
          select: { jti: true, txns: true },
        });
        if (rows.length === 0) return;
        await tx.securityEvent.updateMany({
          where: { jti: { in: rows.map((row) => row.jti) }, status: 'pending' },
          data:
            status === 'delivered'
              ? { status, deliveredAt: new Date() }
              : { status, lastError: error ?? 'refused by the receiver' },
        });
        await tx.auditEvent.createMany({
          data: rows.map((row) =>
            storableAuditRecord({
              decision: status === 'delivered' ? 'granted' : 'denied',
              rule: status === 'delivered' ? 'security_event_delivered' : 'security_event_abandoned',
              audience: receiver.audience,
              jti: row.jti,
              txn: row.txns.length === 1 ? row.txns[0] : null,
              description:
                status === 'delivered'
                  ? `SET acknowledged by poll receiver ${receiver.id}`
                  : `SET refused by poll receiver ${receiver.id}: ${errors.get(row.jti) ?? ''}`,
            }),
          ),
        });
      });
    };
    await settle(acks, 'delivered');
    for (const [jti, error] of errors) await settle([jti], 'failed', error);
  }

  /** Drops SETs whose tokens have all expired for a day: they can no longer matter to anyone. */
  async purgeExpired(): Promise<number> {
    const { count } = await this.#prisma.securityEvent.deleteMany({
      where: { tokensExpireAt: { lt: new Date(Date.now() - 24 * 3600_000) } },
    });
    return count;
  }
}

/** A new receiver id when the admin gives none. */
export function newReceiverId(): string {
  return `setr-${randomUUID()}`;
}

/** The values among `audiences` that name neither a resource nor an agent (deleted ones included). */
export async function unknownAudiences(
  prisma: PrismaClient,
  audiences: readonly string[],
): Promise<string[]> {
  const [resources, agents] = await Promise.all([
    prisma.resource.findMany({ where: { id: { in: [...audiences] } }, select: { id: true } }),
    prisma.agent.findMany({ where: { id: { in: [...audiences] } }, select: { id: true } }),
  ]);
  const known = new Set([...resources, ...agents].map((row) => row.id));
  return audiences.filter((audience) => !known.has(audience));
}
