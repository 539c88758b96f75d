/**
 * Signing keys: generated at first start, stored with the private half sealed under
 * KEY_ENCRYPTION_KEY, loaded at start-up, so tokens issued before a restart verify after it.
 * States: `next` (published, not yet signing) → `active` (signing) → `retired` (published until
 * every token it signed has expired, then dropped from the JWKS).
 */
import { randomUUID } from 'node:crypto';
import {
  exportJWK,
  generateKeyPair,
  importJWK,
  calculateJwkThumbprint,
  type JWK,
  type CryptoKey,
} from 'jose';
import type { PrismaClient } from './database.js';
import { open, seal } from './secret-box.js';

export const SIGNING_ALG = 'ES256';

export interface LoadedKey {
  readonly kid: string;
  readonly alg: string;
  readonly state: 'next' | 'active' | 'retired';
  readonly publicJwk: JWK;
  readonly privateJwk: JWK;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly activatedAt: Date | null;
  readonly retiredAt: Date | null;
}

export interface KeySet {
  /** The key new tokens are signed with. */
  readonly active: LoadedKey;
  /** Every key a token of this service may carry in `kid`: active, next and not-yet-expired retired. */
  readonly verification: ReadonlyMap<string, LoadedKey>;
  /** Public JWKs to publish (RFC 7517), `kid`, `alg`, `use: sig` on each; no private members. */
  readonly publicJwks: readonly JWK[];
}

function associatedData(kid: string): string {
  return `signing-key:${kid}`;
}

/** A new key pair as a `signing_keys` row, its private half sealed under the KEK. */
export async function newSigningKeyRecord(kek: Buffer, state: 'next' | 'active', now: Date) {
  const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = `${(await calculateJwkThumbprint(publicJwk)).slice(0, 16)}-${randomUUID().slice(0, 8)}`;
  return {
    kid,
    alg: SIGNING_ALG,
    publicJwk: { ...publicJwk, kid, alg: SIGNING_ALG, use: 'sig' },
    privateJwkEncrypted: seal(kek, JSON.stringify(await exportJWK(privateKey)), associatedData(kid)),
    state,
    activatedAt: state === 'active' ? now : null,
  };
}

async function loadKey(
  row: {
    kid: string;
    alg: string;
    state: string;
    publicJwk: unknown;
    privateJwkEncrypted: string;
    activatedAt: Date | null;
    retiredAt: Date | null;
  },
  kek: Buffer,
): Promise<LoadedKey> {
  const publicJwk = row.publicJwk as JWK;
  const privateJwk = {
    ...(JSON.parse(open(kek, row.privateJwkEncrypted, associatedData(row.kid))) as JWK),
    kid: row.kid,
    alg: row.alg,
    use: 'sig',
  };
  return {
    kid: row.kid,
    alg: row.alg,
    state: row.state as LoadedKey['state'],
    publicJwk,
    privateJwk,
    privateKey: (await importJWK(privateJwk, row.alg)) as CryptoKey,
    publicKey: (await importJWK(publicJwk, row.alg)) as CryptoKey,
    activatedAt: row.activatedAt,
    retiredAt: row.retiredAt,
  };
}

/**
 * Loads the key set, generating the first key on a fresh database. Retired keys stay published
 * for `retiredKeyGraceSeconds` after retirement (the longest token lifetime plus JWKS cache time).
 */
export async function loadKeySet(
  prisma: PrismaClient,
  kek: Buffer,
  options: { retiredKeyGraceSeconds: number; now?: Date },
): Promise<KeySet> {
  const now = options.now ?? new Date();
  // Two instances starting together on a fresh database must agree on one first key.
  await prisma.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(72210868)`;
    if ((await tx.signingKey.count({ where: { state: 'active' } })) === 0) {
      await tx.signingKey.create({ data: await newSigningKeyRecord(kek, 'active', now) });
    }
  });
  const graceStart = new Date(now.getTime() - options.retiredKeyGraceSeconds * 1000);
  const rows = await prisma.signingKey.findMany({
    where: {
      OR: [{ state: { in: ['active', 'next'] } }, { state: 'retired', retiredAt: { gte: graceStart } }],
    },
    orderBy: { createdAt: 'desc' },
  });
  const keys = await Promise.all(rows.map((row) => loadKey(row, kek)));
  const active = keys.find((key) => key.state === 'active');
  if (!active) throw new Error('no active signing key');
  return {
    active,
    verification: new Map(keys.map((key) => [key.kid, key])),
    publicJwks: keys.map((key) => key.publicJwk),
  };
}
