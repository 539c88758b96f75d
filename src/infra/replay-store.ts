/**
 * One-time use of client-assertion `jti`s (RFC 7523 §3), shared by every endpoint that accepts a
 * client assertion: the token endpoint (through oidc-provider's ReplayDetection model and the
 * adapter) and the introspection and revocation endpoints (protocol/client-authentication.ts).
 * Records live in `provider_records` under the same model and id, so an assertion spent at one
 * endpoint is spent at all of them, on every instance and across restarts (CA-09).
 */
import { createHash } from 'node:crypto';
import type { PrismaClient } from './database.js';

/** oidc-provider's model name for replay records. */
export const REPLAY_DETECTION_MODEL = 'ReplayDetection';

/** The id oidc-provider's `ReplayDetection.unique(iss, jti)` stores: SHA-256 of `iss` + `jti`, base64url. */
export function replayDetectionId(iss: string, jti: string): string {
  return createHash('sha256').update(`${iss}${jti}`, 'utf8').digest('base64url');
}

/**
 * Claims `id` atomically: true for the first caller, false for every later one until the record
 * expires. A single INSERT … ON CONFLICT, so two instances can never both see "unused" (unlike a
 * find-then-save). An expired record is taken over by the next claim.
 */
export async function claimReplaySlot(prisma: PrismaClient, id: string, expiresAt: Date): Promise<boolean> {
  const claimed = await prisma.$executeRaw`
    INSERT INTO provider_records (model, id, payload, expires_at)
    VALUES (${REPLAY_DETECTION_MODEL}, ${id}, '{}'::jsonb, ${expiresAt})
    ON CONFLICT (model, id) DO UPDATE SET expires_at = EXCLUDED.expires_at
      WHERE provider_records.expires_at <= now()`;
  return claimed === 1;
}
