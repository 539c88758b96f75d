/**
 * Issued-token lineage and the append-only audit log. A grant writes its lineage row and its
 * audit event in one transaction before the response leaves; a refusal writes only the audit
 * event (CONTRACT §3: a failed request changes nothing but the audit log).
 */
import { LRUCache } from 'lru-cache';
import { StatementBatcher } from './statement-batcher.js';
import { AUDIT_DESCRIPTION_MAX_CHARS, auditField } from '../domain/audit-field.js';
import type { RuleCode } from '../domain/types.js';
import { recordAdminEvent, type AdminChange } from './admin-events.js';
import type { PreparedSql, PrismaClient, Transaction } from './database.js';
import { Prisma, type IssuedToken } from './generated/prisma/client.js';

export interface AuditRecord {
  readonly decision: 'granted' | 'denied';
  readonly rule: RuleCode;
  readonly grantType?: string | null;
  readonly clientId?: string | null;
  readonly subject?: string | null;
  readonly audience?: string | null;
  readonly requestedScope?: string | null;
  readonly grantedScope?: string | null;
  readonly jti?: string | null;
  readonly parentJti?: string | null;
  readonly txn?: string | null;
  readonly impersonation?: boolean;
  readonly description?: string | null;
}

export interface IssuedTokenRecord {
  readonly jti: string;
  readonly parentJti: string | null;
  readonly txn: string;
  readonly depth: number;
  readonly sub: string;
  readonly clientId: string;
  readonly chainAgents: readonly string[];
  readonly aud: string;
  readonly scope: string;
  readonly grantType: string;
  readonly impersonation: boolean;
  readonly subjectIsAgent: boolean;
  readonly depthLimit: number | null;
  readonly rootIssuer: string | null;
  /** RFC 9449 §6: the thumbprint the token is bound to (`cnf.jkt`); null for a Bearer token. */
  readonly jkt: string | null;
  readonly issuedAt: Date;
  readonly expiresAt: Date;
  /**
   * SHA-256 of the exact signed compact JWT (ADR 0028): when it is recorded, the token is
   * recognised by it instead of by its signature. Absent or null: verified by signature.
   */
  readonly tokenDigest?: Uint8Array | null;
}

export interface TokenStanding {
  /** The token or one of its ancestors is revoked. */
  readonly revoked: boolean;
  readonly subjectIsAgent: boolean;
  /** Every agent in the token's chain, oldest first, including actors hidden by impersonation. */
  readonly chainAgents: readonly string[];
  /** Number of actors in the chain, impersonated hops included. */
  readonly depth: number;
  /** The depth limit the chain inherited from its trusted issuer, if any. */
  readonly depthLimit: number | null;
  /** The trusted issuer whose token started the chain; null when it began here. */
  readonly rootIssuer: string | null;
  /** SHA-256 of the token as it was signed (ADR 0028); null when none was recorded. */
  readonly tokenDigest: Uint8Array | null;
}

/** A token a revocation has just marked revoked. */
export interface RevokedToken {
  readonly jti: string;
  readonly parentJti: string | null;
  readonly txn: string;
  readonly sub: string;
  readonly aud: string;
  readonly clientId: string;
}

/** Who revoked, for the audit row each revoked token gets. */
export interface Revoker {
  /** The revoking agent, or the admin token's agent; null for the bootstrap admin token. */
  readonly clientId: string | null;
  readonly description: string;
  /** For an admin revocation: its admin event (`tokens.revoked`), written in the same transaction. */
  readonly admin?: AdminChange & {
    readonly targetType: 'token' | 'chain' | 'agent';
    readonly targetId: string;
  };
}

/**
 * An audit record as it is stored: every text field capped and cleaned of control characters
 * (domain/audit-field.ts), since most of them can come from the request. No input can make the
 * row large or make its insert fail, so no refusal escapes the log.
 */
export function storableAuditRecord(audit: AuditRecord): AuditRecord {
  return {
    decision: audit.decision,
    rule: audit.rule,
    grantType: auditField(audit.grantType),
    clientId: auditField(audit.clientId),
    subject: auditField(audit.subject),
    audience: auditField(audit.audience),
    requestedScope: auditField(audit.requestedScope),
    grantedScope: auditField(audit.grantedScope),
    jti: auditField(audit.jti),
    parentJti: auditField(audit.parentJti),
    txn: auditField(audit.txn),
    impersonation: audit.impersonation ?? false,
    description: auditField(audit.description, AUDIT_DESCRIPTION_MAX_CHARS),
  };
}

/**
 * Told of every revocation inside its transaction, after the tokens were marked: what must commit
 * or roll back with the revocation (the security event outbox, ADR 0026) goes here.
 */
export type RevocationListener = (
  tx: Transaction,
  revoked: readonly RevokedToken[],
  by: Revoker,
) => Promise<void>;

export interface LineageStoreOptions {
  readonly onRevoked?: RevocationListener;
  /** Concurrent grants share one statement and its commit (ADR 0021): worth it on PostgreSQL. */
  readonly groupCommit?: boolean;
}

/** How many revoked jtis an admin event lists; audit_events holds one row for every one of them. */
const ADMIN_EVENT_MAX_JTIS = 100;

/**
 * How many tokens' chain starts one instance remembers (ADR 0021): a jti and a date each, about
 * 100 bytes, so some 10 MiB at most.
 */
export const CHAIN_START_CACHE_MAX_ENTRIES = 100_000;

/**
 * The lineage row and its audit event in one statement ($1–$17 the token, $18 its chain start when
 * known, $19–$31 the audit event, $32 the token's digest, ADR 0028). The row inherits its parent's `chain_started_at` (a root starts
 * its chain; $18 is then its issue time), so a whole chain lives in one partition and retention
 * drops it whole (ADR 0015). When the caller does not know the parent's start, the statement looks
 * it up (an InitPlan, run only when $18 is null); a parent not found only makes the row stay longer.
 */
const RECORD_ISSUANCE = `
  WITH lineage AS (
    INSERT INTO issued_tokens (jti, parent_jti, txn, depth, sub, client_id, chain_agents, aud, scope,
      grant_type, impersonation, subject_is_agent, depth_limit, root_issuer, jkt, issued_at, expires_at,
      chain_started_at, token_digest)
    VALUES ($1, $2, $3, $4, $5, $6, $7::text[], $8, $9, $10, $11, $12, $13::integer, $14::text, $15::text,
      $16, $17,
      COALESCE($18::timestamptz,
        (SELECT chain_started_at FROM issued_tokens WHERE jti = $2::text LIMIT 1), $16::timestamptz),
      $32::bytea)
    RETURNING chain_started_at
  ), audit AS (
    INSERT INTO audit_events (decision, rule, grant_type, client_id, subject, audience, requested_scope,
      granted_scope, jti, parent_jti, txn, impersonation, description)
    VALUES ($19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31)
  )
  SELECT chain_started_at FROM lineage`;

/**
 * Group commit (ADR 0021): the lineage rows and audit events of many grants in one statement, one
 * array per column ($1–$18 the tokens, the chain agents as JSON arrays; $19–$31 the audit events;
 * $32 the tokens' digests, ADR 0028).
 * PostgreSQL runs a statement atomically: every grant of the batch lands, or none does.
 */
const RECORD_ISSUANCES = `
  WITH v AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::integer[], $5::text[], $6::text[], $7::text[],
      $8::text[], $9::text[], $10::text[], $11::boolean[], $12::boolean[], $13::integer[], $14::text[],
      $15::text[], $16::timestamptz[], $17::timestamptz[], $18::timestamptz[], $19::text[], $20::text[],
      $21::text[], $22::text[], $23::text[], $24::text[], $25::text[], $26::text[], $27::text[], $28::text[],
      $29::text[], $30::boolean[], $31::text[], $32::bytea[])
      AS v(jti, parent_jti, txn, depth, sub, client_id, chain_agents, aud, scope, grant_type, impersonation,
        subject_is_agent, depth_limit, root_issuer, jkt, issued_at, expires_at, known_start, a_decision, a_rule,
        a_grant_type, a_client_id, a_subject, a_audience, a_requested_scope, a_granted_scope, a_jti,
        a_parent_jti, a_txn, a_impersonation, a_description, token_digest)
  ), lineage AS (
    INSERT INTO issued_tokens (jti, parent_jti, txn, depth, sub, client_id, chain_agents, aud, scope,
      grant_type, impersonation, subject_is_agent, depth_limit, root_issuer, jkt, issued_at, expires_at,
      chain_started_at, token_digest)
    SELECT jti, parent_jti, txn, depth, sub, client_id,
      ARRAY(SELECT jsonb_array_elements_text(v.chain_agents::jsonb)), aud, scope, grant_type, impersonation,
      subject_is_agent, depth_limit, root_issuer, jkt, issued_at, expires_at,
      COALESCE(known_start,
        (SELECT p.chain_started_at FROM issued_tokens p WHERE p.jti = v.parent_jti LIMIT 1), issued_at),
      token_digest
    FROM v
    RETURNING jti, chain_started_at
  ), audit AS (
    INSERT INTO audit_events (decision, rule, grant_type, client_id, subject, audience, requested_scope,
      granted_scope, jti, parent_jti, txn, impersonation, description)
    SELECT a_decision, a_rule, a_grant_type, a_client_id, a_subject, a_audience, a_requested_scope,
      a_granted_scope, a_jti, a_parent_jti, a_txn, a_impersonation, a_description
    FROM v
  )
  SELECT jti, chain_started_at FROM lineage`;

/** Most grants one group-commit statement records. */
export const ISSUANCE_BATCH_MAX = 64;
/**
 * Group-commit statements in flight at once, each on a pooled connection until its commit; grants
 * arriving meanwhile wait and leave together in the next one. One alone would serialise the
 * commits; a few keep PostgreSQL busy while batches form.
 */
export const ISSUANCE_BATCHES_IN_FLIGHT = 2;

/** One grant's lineage + audit values, in RECORD_ISSUANCE's parameter order ($1 its jti). */
type IssuanceValues = readonly unknown[];

/**
 * A token's ancestry, itself first, for `standing`. Each step up names its parent's partition (a
 * chain shares its start; ADR 0015) and, through LATERAL … LIMIT 1, is an index probe whatever the
 * statistics say: a plain recursive join was planned as a scan of every partition while they were
 * not analysed (ADR 0021).
 */
const STANDING_FROM = (first: string, parentStart: string) => `
  WITH RECURSIVE ancestry AS (
    SELECT jti, parent_jti, revoked_at, subject_is_agent, chain_agents, depth, depth_limit, root_issuer,
      chain_started_at, token_digest, 0 AS level
    FROM issued_tokens WHERE ${first}
    UNION ALL
    SELECT t.jti, t.parent_jti, t.revoked_at, t.subject_is_agent, t.chain_agents, t.depth, t.depth_limit,
      t.root_issuer, t.chain_started_at, NULL::bytea, a.level + 1
    FROM ancestry a CROSS JOIN LATERAL (
      SELECT * FROM issued_tokens p
      WHERE p.jti = a.parent_jti AND p.chain_started_at = ${parentStart} LIMIT 1) t
    WHERE a.level < 64
  )
  SELECT jti, revoked_at, subject_is_agent, chain_agents, depth, depth_limit, root_issuer, chain_started_at,
    token_digest
  FROM ancestry`;
/** The jti alone: every partition is probed. */
export const STANDING = STANDING_FROM('jti = $1', 'a.chain_started_at');

/**
 * The standings of many tokens in one statement (ADR 0021, reads under load): each wanted jti
 * ($1) with its chain start when known ($2, else NULL: every partition is probed), numbered by
 * `ord` so each request gets exactly its own rows, even when several ask for the same token.
 */
export const STANDINGS = `
  WITH RECURSIVE wanted AS (
    SELECT * FROM unnest($1::text[], $2::timestamptz[]) WITH ORDINALITY AS w(jti, start, ord)
  ), ancestry AS (
    SELECT w.ord, t.jti, t.parent_jti, t.revoked_at, t.subject_is_agent, t.chain_agents, t.depth,
      t.depth_limit, t.root_issuer, t.chain_started_at, t.token_digest, 0 AS level
    FROM wanted w CROSS JOIN LATERAL (
      SELECT * FROM issued_tokens p WHERE p.jti = w.jti AND p.chain_started_at = w.start LIMIT 1) t
    WHERE w.start IS NOT NULL
    UNION ALL
    SELECT w.ord, t.jti, t.parent_jti, t.revoked_at, t.subject_is_agent, t.chain_agents, t.depth,
      t.depth_limit, t.root_issuer, t.chain_started_at, t.token_digest, 0 AS level
    FROM wanted w CROSS JOIN LATERAL (
      SELECT * FROM issued_tokens p WHERE p.jti = w.jti LIMIT 1) t
    WHERE w.start IS NULL
    UNION ALL
    SELECT a.ord, t.jti, t.parent_jti, t.revoked_at, t.subject_is_agent, t.chain_agents, t.depth,
      t.depth_limit, t.root_issuer, t.chain_started_at, NULL::bytea, a.level + 1
    FROM ancestry a CROSS JOIN LATERAL (
      SELECT * FROM issued_tokens p
      WHERE p.jti = a.parent_jti AND p.chain_started_at = a.chain_started_at LIMIT 1) t
    WHERE a.level < 64
  )
  SELECT ord, jti, revoked_at, subject_is_agent, chain_agents, depth, depth_limit, root_issuer,
    chain_started_at, token_digest
  FROM ancestry`;

/** Most standings one statement reads. */
export const STANDING_BATCH_MAX = 64;
/** Standing statements in flight at once; reads arriving meanwhile leave together in the next. */
export const STANDING_BATCHES_IN_FLIGHT = 2;

/** A standing to read: the jti, and its chain start when this instance knows it. */
interface StandingRead {
  readonly jti: string;
  readonly start: Date | null;
}
/** The jti and its known chain start: one partition. */
export const STANDING_IN_PARTITION = STANDING_FROM(
  'jti = $1 AND chain_started_at = $2::timestamptz',
  '$2::timestamptz',
);

/** A row of the ancestry walk in `standing`, the token itself first (level 0). */
interface AncestryRow {
  jti: string;
  revoked_at: Date | null;
  subject_is_agent: boolean;
  chain_agents: string[];
  depth: number;
  depth_limit: number | null;
  root_issuer: string | null;
  chain_started_at: Date;
  /** The token's own digest (ADR 0028); null on its ancestors' rows, which need none. */
  token_digest: Uint8Array | null;
}

export class LineageStore {
  readonly #prisma: PrismaClient;
  readonly #onRevoked: RevocationListener | undefined;
  /**
   * jti → `chain_started_at`, the partition key of `issued_tokens` (ADR 0015). It never changes
   * once the row is written, so remembering it is exact: lookups by jti then name their partition
   * and PostgreSQL plans and reads one partition instead of all of them (ADR 0021). Revocation is
   * never cached: `standing` reads `revoked_at` every time.
   */
  readonly #chainStarts = new LRUCache<string, Date>({ max: CHAIN_START_CACHE_MAX_ENTRIES });

  readonly #sql: PreparedSql;
  /** Group commit (ADR 0021); null: each grant's own statement (PGlite: one session, no overlap). */
  readonly #issuances: StatementBatcher<IssuanceValues, Date | undefined> | null;
  /** Concurrent standing reads share statements, as grants share commits; null as above. */
  readonly #standings: StatementBatcher<StandingRead, readonly AncestryRow[]> | null;

  /**
   * `sql` runs the hot path's statements (database.ts `PreparedSql`); without it they go through
   * Prisma's raw queries, unprepared. `groupCommit` lets concurrent grants share one statement
   * and its commit, and concurrent standing reads share one statement (ADR 0021): worth it where
   * statements run concurrently, on PostgreSQL.
   */
  constructor(prisma: PrismaClient, sql?: PreparedSql, options: LineageStoreOptions = {}) {
    this.#prisma = prisma;
    this.#onRevoked = options.onRevoked;
    const batched = options.groupCommit ?? false;
    this.#issuances = batched
      ? new StatementBatcher((batch) => this.#recordBatch(batch), {
          max: ISSUANCE_BATCH_MAX,
          inFlight: ISSUANCE_BATCHES_IN_FLIGHT,
        })
      : null;
    this.#standings = batched
      ? new StatementBatcher((reads) => this.#readStandings(reads), {
          max: STANDING_BATCH_MAX,
          inFlight: STANDING_BATCHES_IN_FLIGHT,
        })
      : null;
    this.#sql = sql ?? {
      prepared: <Row>(_name: string, text: string, params: readonly unknown[]) =>
        prisma.$queryRawUnsafe<Row[]>(text, ...params),
    };
  }

  /**
   * The lineage row and its audit event in one statement: PostgreSQL runs a statement atomically,
   * so both land or neither does, in one round trip instead of a four-step transaction (this is
   * the hot path of every grant; see bench/). The row inherits its parent's `chain_started_at`
   * (a root starts its chain), so a whole chain lives in one partition and retention drops it whole
   * (ADR 0015); a parent not found only makes the row stay longer.
   */
  async recordIssuance(token: IssuedTokenRecord, given: AuditRecord): Promise<void> {
    const audit = storableAuditRecord(given);
    // The parent's chain start when this instance knows it; else the statement looks it up.
    const known =
      token.parentJti === null ? token.issuedAt : (this.#chainStarts.get(token.parentJti) ?? null);
    const values = [
      token.jti,
      token.parentJti,
      token.txn,
      token.depth,
      token.sub,
      token.clientId,
      [...token.chainAgents],
      token.aud,
      token.scope,
      token.grantType,
      token.impersonation,
      token.subjectIsAgent,
      token.depthLimit,
      token.rootIssuer,
      token.jkt,
      token.issuedAt,
      token.expiresAt,
      known,
      audit.decision,
      audit.rule,
      audit.grantType ?? null,
      audit.clientId ?? null,
      audit.subject ?? null,
      audit.audience ?? null,
      audit.requestedScope ?? null,
      audit.grantedScope ?? null,
      audit.jti ?? null,
      audit.parentJti ?? null,
      audit.txn ?? null,
      audit.impersonation ?? false,
      audit.description ?? null,
      token.tokenDigest ?? null,
    ];
    const started = this.#issuances
      ? await this.#issuances.submit(values)
      : (await this.#recordBatch([values]))[0];
    if (started) this.#chainStarts.set(token.jti, started);
  }

  /** Grants waiting for a group-commit statement (not counting those in flight). */
  get waitingIssuances(): number {
    return this.#issuances?.waiting ?? 0;
  }

  /**
   * One statement for the batch: its grants' chain starts, in order. A failed statement records
   * none of them (one statement, atomic) and fails each of their requests.
   */
  async #recordBatch(batch: readonly IssuanceValues[]): Promise<(Date | undefined)[]> {
    if (batch.length === 1) {
      // Alone: the one-row statement, which costs PostgreSQL less than the arrays.
      const [only] = batch as [IssuanceValues];
      const rows = await this.#sql.prepared<{ chain_started_at: Date }>(
        'sts_record_issuance',
        RECORD_ISSUANCE,
        only,
      );
      return [rows[0]?.chain_started_at];
    }
    const columns = (batch[0] ?? []).map((_, column) =>
      batch.map((values) => (column === 6 ? JSON.stringify(values[column]) : values[column])),
    );
    const rows = await this.#sql.prepared<{ jti: string; chain_started_at: Date }>(
      'sts_record_issuances',
      RECORD_ISSUANCES,
      columns,
    );
    const starts = new Map(rows.map((row) => [row.jti, row.chain_started_at]));
    return batch.map((values) => starts.get(values[0] as string));
  }

  async recordRefusal(audit: AuditRecord): Promise<void> {
    await this.#prisma.auditEvent.create({ data: storableAuditRecord(audit) });
  }

  /**
   * Revocation standing of one of this service's tokens, walking up its ancestors so a token
   * derived in a race with a cascading revocation is still seen as revoked. Null when this
   * service has no record of the jti.
   */
  async standing(jti: string): Promise<TokenStanding | null> {
    const read = { jti, start: this.#chainStarts.get(jti) ?? null };
    const rows = this.#standings ? await this.#standings.submit(read) : await this.#readStanding(read);
    return this.#toStanding(jti, rows);
  }

  /** One token's ancestry, in its partition when its chain start is known. */
  #readStanding({ jti, start }: StandingRead): Promise<AncestryRow[]> {
    return start === null
      ? this.#sql.prepared<AncestryRow>('sts_standing', STANDING, [jti])
      : this.#sql.prepared<AncestryRow>('sts_standing_in_partition', STANDING_IN_PARTITION, [jti, start]);
  }

  /** The ancestries of a batch of reads, in order; a lone read uses the one-token statement. */
  async #readStandings(reads: readonly StandingRead[]): Promise<(readonly AncestryRow[])[]> {
    if (reads.length === 1) return [await this.#readStanding(reads[0] as StandingRead)];
    const rows = await this.#sql.prepared<AncestryRow & { ord: string }>('sts_standings', STANDINGS, [
      reads.map((read) => read.jti),
      reads.map((read) => read.start),
    ]);
    const byRead = reads.map((): AncestryRow[] => []);
    // `ord` is a bigint, which pg hands over as a string: 1 for the first read.
    for (const row of rows) byRead[Number(row.ord) - 1]?.push(row);
    return byRead;
  }

  #toStanding(jti: string, rows: readonly AncestryRow[]): TokenStanding | null {
    const own = rows.find((row) => row.jti === jti);
    if (!own) return null;
    this.#chainStarts.set(jti, own.chain_started_at);
    return {
      revoked: rows.some((row) => row.revoked_at !== null),
      subjectIsAgent: own.subject_is_agent,
      chainAgents: own.chain_agents,
      depth: own.depth,
      depthLimit: own.depth_limit,
      rootIssuer: own.root_issuer,
      tokenDigest: own.token_digest,
    };
  }

  /** Revokes the tokens and every token derived from them (CONTRACT §3.4). */
  revokeTree(jtis: readonly string[], by: Revoker): Promise<RevokedToken[]> {
    if (jtis.length === 0) return Promise.resolve([]);
    return this.#revokeSubtrees(Prisma.sql`jti IN (${Prisma.join([...jtis])})`, by);
  }

  /** Revokes every token of one chain. */
  revokeByTxn(txn: string, by: Revoker): Promise<RevokedToken[]> {
    return this.#revokeSubtrees(Prisma.sql`txn = ${txn}`, by);
  }

  /**
   * Revokes every token the agent holds that has not expired before `liveAfter` and is not yet
   * revoked: the tokens it acted in (its chain lists it) and the tokens addressed to it (`aud`),
   * which it could still exchange. And everything derived from them.
   */
  revokeByAgent(agentId: string, liveAfter: Date, by: Revoker): Promise<RevokedToken[]> {
    return this.#revokeSubtrees(
      Prisma.sql`(chain_agents @> ARRAY[${agentId}]::text[] OR aud = ${agentId})
        AND revoked_at IS NULL AND expires_at > ${liveAfter}`,
      by,
    );
  }

  /**
   * One transaction: walks down from the roots over `parent_jti` (a recursive CTE), marks every
   * token not yet revoked, and writes one audit row per token it marked. A token derived in a
   * race after the commit is still refused: `standing` walks up to the revoked ancestor.
   */
  #revokeSubtrees(roots: Prisma.Sql, by: Revoker): Promise<RevokedToken[]> {
    return this.#prisma.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<
        { jti: string; parent_jti: string | null; txn: string; sub: string; aud: string; client_id: string }[]
      >`
        WITH RECURSIVE tree AS (
          SELECT jti FROM issued_tokens WHERE ${roots}
          UNION
          SELECT t.jti FROM issued_tokens t JOIN tree ON t.parent_jti = tree.jti
        )
        UPDATE issued_tokens SET revoked_at = now()
        WHERE jti IN (SELECT jti FROM tree) AND revoked_at IS NULL
        RETURNING jti, parent_jti, txn, sub, aud, client_id`;
      const revoked = rows.map((row) => ({
        jti: row.jti,
        parentJti: row.parent_jti,
        txn: row.txn,
        sub: row.sub,
        aud: row.aud,
        clientId: row.client_id,
      }));
      if (revoked.length > 0) {
        await tx.auditEvent.createMany({
          data: revoked.map((token) =>
            storableAuditRecord({
              decision: 'granted',
              rule: 'token_revoked',
              clientId: by.clientId,
              subject: token.sub,
              audience: token.aud,
              jti: token.jti,
              parentJti: token.parentJti,
              txn: token.txn,
              description: by.description,
            }),
          ),
        });
      }
      if (revoked.length > 0 && this.#onRevoked) await this.#onRevoked(tx, revoked, by);
      if (by.admin) {
        const { targetType, targetId, ...change } = by.admin;
        const jtis = revoked.map((token) => token.jti);
        await recordAdminEvent(tx, change, {
          action: 'tokens.revoked',
          targetType,
          targetId,
          changes: {
            revoked: jtis.length,
            jtis: jtis.slice(0, ADMIN_EVENT_MAX_JTIS),
            ...(jtis.length > ADMIN_EVENT_MAX_JTIS ? { jtisTruncated: true } : {}),
          },
        });
      }
      return revoked;
    });
  }

  /** Whether any token belongs to the chain `txn`. */
  async hasChain(txn: string): Promise<boolean> {
    return (await this.#prisma.issuedToken.findFirst({ where: { txn }, select: { jti: true } })) !== null;
  }

  /** Every token of one chain, oldest first (the admin chain view). */
  chainTokens(txn: string): Promise<IssuedToken[]> {
    return this.#prisma.issuedToken.findMany({
      where: { txn },
      orderBy: [{ issuedAt: 'asc' }, { jti: 'asc' }],
    });
  }
}
