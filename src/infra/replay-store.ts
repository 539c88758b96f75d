/**
 * One-time use of client-assertion `jti`s (RFC 7523 §3) and of DPoP proofs (RFC 9449 §11.1).
 * Client assertions are spent by client authentication (protocol/client-authentication.ts), the
 * same at the token, introspection and revocation endpoints. Records live in `provider_records`
 * under oidc-provider's model name and id for them (the table predates ADR 0027), so an assertion
 * spent at one endpoint is spent at all of them, on every instance and across restarts (CA-09).
 */
import { createHash } from 'node:crypto';
import type { PrismaClient } from './database.js';

/** oidc-provider's model name for replay records. */
export const REPLAY_DETECTION_MODEL = 'ReplayDetection';

/** The id oidc-provider's `ReplayDetection.unique(iss, jti)` stores: SHA-256 of `iss` + `jti`, base64url. */
export function replayDetectionId(iss: string, jti: string): string {
  return createHash('sha256').update(`${iss}${jti}`, 'utf8').digest('base64url');
}

/** The model under which spent DPoP proofs are kept, apart from client assertions (RFC 9449 §11.1). */
export const DPOP_PROOF_MODEL = 'DPoPProof';

/**
 * Claims `id` atomically: true for the first caller, false for every later one until the record
 * expires. A single INSERT … ON CONFLICT, so two instances can never both see "unused" (unlike a
 * find-then-save). An expired record is taken over by the next claim.
 */
export async function claimReplaySlot(
  prisma: PrismaClient,
  id: string,
  expiresAt: Date,
  model: string = REPLAY_DETECTION_MODEL,
): Promise<boolean> {
  const claimed = await prisma.$executeRaw`
    INSERT INTO provider_records (model, id, payload, expires_at)
    VALUES (${model}, ${id}, '{}'::jsonb, ${expiresAt})
    ON CONFLICT (model, id) DO UPDATE SET expires_at = EXCLUDED.expires_at
      WHERE provider_records.expires_at <= now()`;
  return claimed === 1;
}

/**
 * Spends a DPoP proof: its `jti` once per key (RFC 7638 thumbprint `jkt`), on every instance and
 * across restarts, until `expiresAt`. The id is a digest, so a proof's `jti` is stored at a fixed size.
 */
export function claimDpopProof(
  prisma: PrismaClient,
  jkt: string,
  jti: string,
  expiresAt: Date,
): Promise<boolean> {
  const id = createHash('sha256').update(`${jkt}.${jti}`, 'utf8').digest('base64url');
  return claimReplaySlot(prisma, id, expiresAt, DPOP_PROOF_MODEL);
}

/**
 * Deletes expired records, a bounded batch at a time, so the table holds only the replay window
 * (every assertion and DPoP proof adds one row). Safe on every instance at once.
 */
export async function purgeExpiredRecords(prisma: PrismaClient, batchSize = 10_000): Promise<number> {
  return prisma.$executeRaw`
    DELETE FROM provider_records
    WHERE ctid IN (
      SELECT ctid FROM provider_records WHERE expires_at < now() LIMIT ${batchSize}
    )`;
}
