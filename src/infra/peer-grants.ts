/**
 * JWT authorization grants presented by peer domains (ADR 0025): each (issuer, `jti`) once, on
 * every instance and across restarts (RFC 7523 §3 point 7, draft-ietf-oauth-identity-chaining
 * §4.5), and the foreign parent of the local chain each one started, for the chain view.
 */
import type { PrismaClient } from './database.js';

export interface PresentedGrant {
  readonly peerIssuer: string;
  readonly grantJti: string;
  readonly grantTxn: string | null;
  /** The agent of the issuing domain the grant was issued to (its `client_id`). */
  readonly grantClientId: string | null;
  /** The grant's actors, as named here (qualified by their domain). */
  readonly foreignActors: readonly string[];
  readonly expiresAt: Date;
  /** The local client that redeemed it. */
  readonly presentedBy: string;
  /** The local chain it starts. */
  readonly localTxn: string;
}

/** Where a local chain came from, when it crossed in from a peer domain. */
export interface ChainOrigin {
  readonly issuer: string;
  readonly grantJti: string;
  readonly grantTxn: string | null;
  readonly grantClientId: string | null;
  readonly foreignActors: readonly string[];
  readonly redeemedBy: string;
  readonly redeemedAt: Date;
}

export class PeerGrantStore {
  readonly #prisma: PrismaClient;

  constructor(prisma: PrismaClient) {
    this.#prisma = prisma;
  }

  /**
   * Spends the grant: true for the first presentation, false for every later one. One INSERT …
   * ON CONFLICT, so two instances can never both see it unused. A record outlives the grant's
   * `exp`, after which the grant is refused as expired anyway.
   */
  async claim(grant: PresentedGrant): Promise<boolean> {
    const claimed = await this.#prisma.$executeRaw`
      INSERT INTO peer_grants (peer_issuer, grant_jti, grant_txn, grant_client_id, foreign_actors, expires_at,
        presented_by, local_txn)
      VALUES (${grant.peerIssuer}, ${grant.grantJti}, ${grant.grantTxn}::text, ${grant.grantClientId}::text,
        ${[...grant.foreignActors]}::text[], ${grant.expiresAt}, ${grant.presentedBy}, ${grant.localTxn})
      ON CONFLICT (peer_issuer, grant_jti) DO NOTHING`;
    return claimed === 1;
  }

  /** The foreign parent of a local chain; null for a chain that began here. */
  async originOf(localTxn: string): Promise<ChainOrigin | null> {
    const row = await this.#prisma.peerGrant.findFirst({
      where: { localTxn },
      orderBy: { presentedAt: 'asc' },
    });
    if (!row) return null;
    return {
      issuer: row.peerIssuer,
      grantJti: row.grantJti,
      grantTxn: row.grantTxn,
      grantClientId: row.grantClientId,
      foreignActors: row.foreignActors,
      redeemedBy: row.presentedBy,
      redeemedAt: row.presentedAt,
    };
  }
}
