/**
 * Issued-token lineage and the append-only audit log. A grant writes its lineage row and its
 * audit event in one transaction before the response leaves; a refusal writes only the audit
 * event (CONTRACT §3: a failed request changes nothing but the audit log).
 */
import type { RuleCode } from '../domain/types.js';
import type { PrismaClient } from './database.js';

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
  readonly issuedAt: Date;
  readonly expiresAt: Date;
}

export interface TokenStanding {
  /** The token or one of its ancestors is revoked. */
  readonly revoked: boolean;
  readonly subjectIsAgent: boolean;
}

export class LineageStore {
  readonly #prisma: PrismaClient;

  constructor(prisma: PrismaClient) {
    this.#prisma = prisma;
  }

  async recordIssuance(token: IssuedTokenRecord, audit: AuditRecord): Promise<void> {
    await this.#prisma.$transaction([
      this.#prisma.issuedToken.create({ data: { ...token, chainAgents: [...token.chainAgents] } }),
      this.#prisma.auditEvent.create({ data: audit }),
    ]);
  }

  async recordRefusal(audit: AuditRecord): Promise<void> {
    await this.#prisma.auditEvent.create({ data: audit });
  }

  /**
   * Revocation standing of one of this service's tokens, walking up its ancestors so a token
   * derived in a race with a cascading revocation is still seen as revoked. Null when this
   * service has no record of the jti.
   */
  async standing(jti: string): Promise<TokenStanding | null> {
    const rows = await this.#prisma.$queryRaw<
      { jti: string; revoked_at: Date | null; subject_is_agent: boolean }[]
    >`
      WITH RECURSIVE ancestry AS (
        SELECT jti, parent_jti, revoked_at, subject_is_agent, 0 AS level FROM issued_tokens WHERE jti = ${jti}
        UNION ALL
        SELECT t.jti, t.parent_jti, t.revoked_at, t.subject_is_agent, a.level + 1
        FROM issued_tokens t JOIN ancestry a ON t.jti = a.parent_jti
        WHERE a.level < 64
      )
      SELECT jti, revoked_at, subject_is_agent FROM ancestry`;
    const own = rows.find((row) => row.jti === jti);
    if (!own) return null;
    return { revoked: rows.some((row) => row.revoked_at !== null), subjectIsAgent: own.subject_is_agent };
  }
}
