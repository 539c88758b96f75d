/**
 * Signing keys: generated at first start, stored with the private half sealed under
 * KEY_ENCRYPTION_KEY, loaded at start-up, so tokens issued before a restart verify after it.
 * States: `next` (published, not yet signing) → `active` (signing) → `retired` (published until
 * every token it signed has expired, then dropped from the JWKS). RFC 9700 §2.6 / KM-02: a key is
 * published before its first use, and stays published as long as a token it signed can be alive.
 * Any key can also be `revoked` in an emergency (a suspected leak): it leaves the JWKS, stops
 * signing and stops verifying at once, and nothing ever brings it back.
 *
 * `scheduleKeys` decides, from the rows and the clock alone, which transitions are due and which
 * keys are published; `SigningKeyRing` applies it to the database under an advisory lock (so
 * several instances on one database agree) and holds the key set the service signs with.
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
import { recordAdminEvent, type AdminChange } from './admin-events.js';
import type { PrismaClient, Transaction } from './database.js';
import { open, seal } from './secret-box.js';

export const SIGNING_ALG = 'ES256';

/** Serialises key-state changes across every instance on one database (advisory lock 72210868). */
async function lockSigningKeys(tx: Transaction): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(72210868)`;
}

export type KeyState = 'next' | 'active' | 'retired' | 'revoked';

export interface LoadedKey {
  readonly kid: string;
  readonly alg: string;
  readonly state: KeyState;
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

export interface KeyPolicy {
  /** How long a new key is published before it signs (KEY_ROTATION_DELAY_SECONDS). */
  readonly rotationDelaySeconds: number;
  /**
   * How long a retired key stays published and trusted: the longest token lifetime plus the time
   * resource servers may cache the JWKS.
   */
  readonly retiredKeyGraceSeconds: number;
}

/** What scheduling needs of a key row: its state and timestamps, no key material. */
export interface KeyStateRow {
  readonly kid: string;
  readonly state: string;
  readonly createdAt: Date;
  readonly activatedAt: Date | null;
  readonly retiredAt: Date | null;
  readonly revokedAt: Date | null;
}

export interface KeySchedule {
  /** The `next` key that starts signing now, if any. */
  readonly promote: string | null;
  /** Keys that stop signing now: the active key a promotion replaces, and `next` keys it overtakes. */
  readonly retire: readonly string[];
  /** The signing key once the transitions are applied; null when there is no key at all. */
  readonly active: string | null;
  /** Published (and trusted) keys once the transitions are applied: active first, then next, then retired. */
  readonly published: readonly string[];
}

const byNewest = (a: KeyStateRow, b: KeyStateRow) =>
  b.createdAt.getTime() - a.createdAt.getTime() || (a.kid < b.kid ? 1 : -1);

/** KM-02: a revocation time wins over whatever the state column says. */
export function isRevoked(row: Pick<KeyStateRow, 'state' | 'revokedAt'>): boolean {
  return row.state === 'revoked' || row.revokedAt !== null;
}

/**
 * Pure: the transitions due at `now` and the keys published after them.
 *
 * - A `next` key is promoted once it has been published for `rotationDelaySeconds`; the newest
 *   due one wins, and the active key (and any older `next` key it overtakes) retires.
 * - With no active key, the newest `next` key signs at once: the service must sign with something.
 * - A retired key is published while `retiredAt + retiredKeyGraceSeconds` is in the future.
 * - A revoked key takes no part at all: never promoted, retired, published or signing. When the
 *   active key is revoked the rules above apply to what is left (`SigningKeyRing.revoke` stores a
 *   replacement in the same transaction, so that case does not reach here through it).
 */
export function scheduleKeys(allRows: readonly KeyStateRow[], now: Date, policy: KeyPolicy): KeySchedule {
  const at = now.getTime();
  const rows = allRows.filter((row) => !isRevoked(row));
  const actives = rows.filter((row) => row.state === 'active').sort(byNewest);
  const nexts = rows.filter((row) => row.state === 'next').sort(byNewest);
  const due = nexts.filter((row) => row.createdAt.getTime() + policy.rotationDelaySeconds * 1000 <= at);
  const promoted = due[0] ?? (actives.length === 0 ? nexts[0] : undefined);

  const retire = new Set<string>();
  // Only one key signs: a second active row (a manual edit) retires too.
  for (const row of actives.slice(promoted ? 0 : 1)) retire.add(row.kid);
  if (promoted) {
    for (const row of nexts) if (row !== promoted && row.createdAt <= promoted.createdAt) retire.add(row.kid);
  }
  const active = promoted?.kid ?? actives[0]?.kid ?? null;

  const stillNext = nexts.filter((row) => row !== promoted && !retire.has(row.kid)).map((row) => row.kid);
  const justRetired = [...retire];
  const retiredEarlier = rows
    .filter(
      (row) =>
        row.state === 'retired' &&
        row.retiredAt !== null &&
        row.retiredAt.getTime() + policy.retiredKeyGraceSeconds * 1000 > at,
    )
    .sort((a, b) => (b.retiredAt?.getTime() ?? 0) - (a.retiredAt?.getTime() ?? 0))
    .map((row) => row.kid);
  return {
    promote: promoted?.kid ?? null,
    retire: justRetired,
    active,
    published: [...(active ? [active] : []), ...stillNext, ...justRetired, ...retiredEarlier],
  };
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
    // The service's clock, not the database's: the rotation delay is measured against it.
    createdAt: now,
    activatedAt: state === 'active' ? now : null,
  };
}

interface KeyRow extends KeyStateRow {
  readonly alg: string;
  readonly publicJwk: unknown;
  readonly privateJwkEncrypted: string;
}

async function loadKey(row: KeyRow, state: KeyState, kek: Buffer, known?: LoadedKey): Promise<LoadedKey> {
  const timestamps = { state, activatedAt: row.activatedAt, retiredAt: row.retiredAt };
  // Key material never changes under a kid: reuse what an earlier load decrypted.
  if (known) return { ...known, ...timestamps };
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
    publicJwk,
    privateJwk,
    privateKey: (await importJWK(privateJwk, row.alg)) as CryptoKey,
    publicKey: (await importJWK(publicJwk, row.alg)) as CryptoKey,
    ...timestamps,
  };
}

/**
 * Announces, in the transaction that changes the keys, that every instance must reload them
 * (change-feed.ts, ADR 0017).
 */
export type KeyChangePublisher = (tx: Transaction) => Promise<void>;

const noPublisher: KeyChangePublisher = () => Promise.resolve();

/**
 * Under the advisory lock: creates the first key on an empty database, applies the transitions
 * due at `now`, and returns the published rows in `scheduleKeys` order.
 */
async function settleKeys(
  tx: Transaction,
  kek: Buffer,
  policy: KeyPolicy,
  now: Date,
  publish: KeyChangePublisher,
) {
  await lockSigningKeys(tx);
  const graceStart = new Date(now.getTime() - policy.retiredKeyGraceSeconds * 1000);
  const live = () =>
    tx.signingKey.findMany({
      where: {
        revokedAt: null,
        OR: [{ state: { in: ['active', 'next'] } }, { state: 'retired', retiredAt: { gt: graceStart } }],
      },
    });
  let rows = await live();
  let schedule = scheduleKeys(rows, now, policy);
  if (schedule.active === null) {
    await tx.signingKey.create({ data: await newSigningKeyRecord(kek, 'active', now) });
    rows = await live();
    schedule = scheduleKeys(rows, now, policy);
  }
  if (schedule.promote !== null) {
    await tx.signingKey.update({
      where: { kid: schedule.promote },
      data: { state: 'active', activatedAt: now },
    });
  }
  if (schedule.retire.length > 0) {
    await tx.signingKey.updateMany({
      where: { kid: { in: [...schedule.retire] } },
      data: { state: 'retired', retiredAt: now },
    });
  }
  if (schedule.promote !== null || schedule.retire.length > 0) {
    rows = await live();
    // Every instance switches to the promoted key now, not at its own next refresh.
    await publish(tx);
  }
  const byKid = new Map(rows.map((row) => [row.kid, row]));
  return schedule.published.map((kid) => {
    const row = byKid.get(kid);
    if (!row) throw new Error(`signing key ${kid} vanished while it was being scheduled`);
    return row;
  });
}

async function buildKeySet(rows: readonly KeyRow[], kek: Buffer, previous?: KeySet): Promise<KeySet> {
  const keys = await Promise.all(
    rows.map((row) => loadKey(row, row.state as KeyState, kek, previous?.verification.get(row.kid))),
  );
  const active = keys.find((key) => key.state === 'active');
  if (!active) throw new Error('no active signing key');
  return {
    active,
    verification: new Map(keys.map((key) => [key.kid, key])),
    publicJwks: keys.map((key) => key.publicJwk),
  };
}

/**
 * Loads the key set, generating the first key on a fresh database and applying the transitions
 * due now. Retired keys stay published for `retiredKeyGraceSeconds` after retirement.
 */
export async function loadKeySet(
  prisma: PrismaClient,
  kek: Buffer,
  policy: KeyPolicy & { readonly now?: Date },
  previous?: KeySet,
  publish: KeyChangePublisher = noPublisher,
): Promise<KeySet> {
  const now = policy.now ?? new Date();
  // Two instances starting or promoting together must agree on one key.
  const rows = await prisma.$transaction((tx) => settleKeys(tx, kek, policy, now, publish));
  return buildKeySet(rows, kek, previous);
}

/** Two key sets publish the same keys in the same states (no provider rebuild needed). */
export function sameKeys(a: KeySet, b: KeySet): boolean {
  const describe = (set: KeySet) =>
    [...set.verification.values()]
      .map((key) => `${key.kid}:${key.state}`)
      .sort()
      .join(',') + `|${set.active.kid}`;
  return describe(a) === describe(b);
}

/** What `SigningKeyRing.revoke` did; `active` is the key signing afterwards. */
export type KeyRevocation =
  | { readonly kind: 'not_found' }
  | { readonly kind: 'already_revoked' }
  | {
      readonly kind: 'revoked';
      readonly previousState: KeyState;
      readonly revoked: SigningKeyInfo;
      readonly active: SigningKeyInfo;
    };

/** A key as the admin API lists it: never its private half. */
export interface SigningKeyInfo {
  readonly kid: string;
  readonly alg: string;
  readonly state: KeyState;
  readonly createdAt: Date;
  readonly activatedAt: Date | null;
  readonly retiredAt: Date | null;
  readonly revokedAt: Date | null;
  /** When a `next` key starts signing (its creation plus the rotation delay); null otherwise. */
  readonly activatesAt: Date | null;
  /** In the JWKS and trusted for this service's own tokens. */
  readonly published: boolean;
  readonly publicJwk: JWK;
}

/**
 * The service's signing keys: the current key set, a reload that applies due transitions (run
 * periodically by every instance, after each rotation or revocation, and when a token names a kid
 * this instance does not know yet), rotation and emergency revocation. Operations run one at a
 * time; listeners hear of every change in the published keys or their states.
 */
export class SigningKeyRing {
  readonly #prisma: PrismaClient;
  readonly #kek: Buffer;
  readonly #policy: KeyPolicy;
  readonly #publish: KeyChangePublisher;
  readonly #listeners: ((keys: KeySet) => void)[] = [];
  #current: KeySet;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(
    prisma: PrismaClient,
    kek: Buffer,
    policy: KeyPolicy,
    publish: KeyChangePublisher,
    current: KeySet,
  ) {
    this.#prisma = prisma;
    this.#kek = kek;
    this.#policy = policy;
    this.#publish = publish;
    this.#current = current;
  }

  /** `publish` runs in every transaction that changes the keys: a rotation, a revocation, a promotion. */
  static async open(
    prisma: PrismaClient,
    kek: Buffer,
    policy: KeyPolicy,
    publish: KeyChangePublisher = noPublisher,
  ): Promise<SigningKeyRing> {
    const current = await loadKeySet(prisma, kek, policy, undefined, publish);
    return new SigningKeyRing(prisma, kek, policy, publish, current);
  }

  get current(): KeySet {
    return this.#current;
  }

  get policy(): KeyPolicy {
    return this.#policy;
  }

  /** Called with the new key set whenever a refresh or rotation changes it. */
  onChange(listener: (keys: KeySet) => void): void {
    this.#listeners.push(listener);
  }

  /**
   * Reloads the keys from the database, applying the transitions due now (promotion of a `next`
   * key, expiry of a retired one). Resolves true when the key set changed.
   */
  refresh(now?: Date): Promise<boolean> {
    return this.#serialise(() => this.#reload(now ?? new Date()));
  }

  /**
   * Creates a key in state `next`, published at once; it starts signing after the rotation delay
   * (at once when the delay is 0). Resolves to the new key as the database now holds it. The
   * admin event is written with the key.
   */
  rotate(by: AdminChange, now?: Date): Promise<SigningKeyInfo> {
    return this.#serialise(async () => {
      const at = now ?? new Date();
      const record = await newSigningKeyRecord(this.#kek, 'next', at);
      await this.#prisma.$transaction(async (tx) => {
        await lockSigningKeys(tx);
        await tx.signingKey.create({ data: record });
        await recordAdminEvent(tx, by, {
          action: 'signing_key.rotated',
          targetType: 'signing_key',
          targetId: record.kid,
          changes: { state: { before: null, after: record.state } },
        });
        await this.#publish(tx);
      });
      await this.#reload(at);
      const created = (await this.list(at)).find((key) => key.kid === record.kid);
      if (!created) throw new Error(`signing key ${record.kid} was not stored`);
      return created;
    });
  }

  /**
   * KM-02 emergency revocation: the key leaves the JWKS, never signs again and tokens it signed
   * stop verifying, on this instance at once and on every other one when the change feed tells it
   * (ADR 0017), at the latest at its next refresh. When it
   * is the active key, a new key is generated and signs at once, skipping the publication delay a
   * rotation observes: signing on with a key believed compromised is worse than resource servers
   * refetching the JWKS for an unknown kid. A pending `next` key keeps its own schedule. The admin
   * event, naming the replacement when there is one, is written with the revocation.
   */
  revoke(kid: string, by: AdminChange, now?: Date): Promise<KeyRevocation> {
    return this.#serialise(async () => {
      const at = now ?? new Date();
      const outcome = await this.#prisma.$transaction(async (tx) => {
        await lockSigningKeys(tx);
        const row = await tx.signingKey.findUnique({
          where: { kid },
          select: { state: true, revokedAt: true },
        });
        if (!row) return { kind: 'not_found' } as const;
        if (isRevoked(row)) return { kind: 'already_revoked' } as const;
        await tx.signingKey.update({ where: { kid }, data: { state: 'revoked', revokedAt: at } });
        const replacement =
          row.state === 'active' ? await newSigningKeyRecord(this.#kek, 'active', at) : null;
        if (replacement) await tx.signingKey.create({ data: replacement });
        await recordAdminEvent(tx, by, {
          action: 'signing_key.revoked',
          targetType: 'signing_key',
          targetId: kid,
          changes: {
            state: { before: row.state, after: 'revoked' },
            ...(replacement ? { activeKid: { before: kid, after: replacement.kid } } : {}),
          },
        });
        await this.#publish(tx);
        return { kind: 'revoked', previousState: row.state as KeyState } as const;
      });
      if (outcome.kind !== 'revoked') return outcome;
      await this.#reload(at);
      const keys = await this.list(at);
      const revoked = keys.find((key) => key.kid === kid);
      const active = keys.find((key) => key.kid === this.#current.active.kid);
      if (!revoked || !active) throw new Error(`signing key ${kid} vanished while it was being revoked`);
      return { kind: 'revoked', previousState: outcome.previousState, revoked, active };
    });
  }

  /** Every key the database holds, newest first, with its schedule; public halves only. */
  async list(now: Date = new Date()): Promise<SigningKeyInfo[]> {
    const rows = await this.#prisma.signingKey.findMany({
      select: {
        kid: true,
        alg: true,
        state: true,
        createdAt: true,
        activatedAt: true,
        retiredAt: true,
        revokedAt: true,
        publicJwk: true,
      },
      orderBy: [{ createdAt: 'desc' }, { kid: 'asc' }],
    });
    const published = new Set(scheduleKeys(rows, now, this.#policy).published);
    return rows.map((row) => ({
      kid: row.kid,
      alg: row.alg,
      state: row.state as KeyState,
      createdAt: row.createdAt,
      activatedAt: row.activatedAt,
      retiredAt: row.retiredAt,
      revokedAt: row.revokedAt,
      activatesAt:
        row.state === 'next'
          ? new Date(row.createdAt.getTime() + this.#policy.rotationDelaySeconds * 1000)
          : null,
      published: published.has(row.kid),
      publicJwk: publicMembers(row.publicJwk as JWK),
    }));
  }

  /** Waits for the operation in flight, so nothing touches the database after it closes. */
  async close(): Promise<void> {
    await this.#queue.catch(() => undefined);
  }

  async #reload(now: Date): Promise<boolean> {
    const next = await loadKeySet(
      this.#prisma,
      this.#kek,
      { ...this.#policy, now },
      this.#current,
      this.#publish,
    );
    if (sameKeys(next, this.#current)) return false;
    this.#current = next;
    for (const listener of this.#listeners) listener(next);
    return true;
  }

  #serialise<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(operation, operation);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

/** RFC 7517 / KM-01: only the public members of an EC or RSA key, whatever the row holds. */
const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y', 'n', 'e', 'kid', 'alg', 'use'] as const;

function publicMembers(jwk: JWK): JWK {
  const result: Record<string, unknown> = {};
  for (const name of PUBLIC_MEMBERS) if (jwk[name] !== undefined) result[name] = jwk[name];
  return result as JWK;
}
