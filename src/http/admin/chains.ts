/**
 * GET /admin/chains/{txn} (CONTRACT §4): the delegation tree of one chain, every token issued in
 * it, parent → child, with its actor, audience, scopes, times and status.
 */
import type { FastifyInstance } from 'fastify';
import type { IssuedToken } from '../../infra/generated/prisma/client.js';
import { ProblemError } from '../problem.js';
import { ChainView, TxnParams, type ChainNodeView, type TokenKind, type TokenStatus } from './schemas.js';

/**
 * A token is revoked when it or an ancestor was revoked before it expired (lineage marks the whole
 * subtree, but a token derived in a race with the revocation is judged by its ancestors, as
 * `LineageStore.standing` does); else expired once past `exp`; else live.
 */
function statusOf(expiresAt: Date, revokedAt: Date | null, now: number): TokenStatus {
  if (revokedAt !== null && revokedAt.getTime() < expiresAt.getTime()) return 'revoked';
  return expiresAt.getTime() <= now ? 'expired' : 'live';
}

function earliest(a: Date | null, b: Date | null): Date | null {
  if (a === null) return b;
  if (b === null) return a;
  return a.getTime() <= b.getTime() ? a : b;
}

/**
 * ADR 0024: a Txn-Token is the one kind of token addressed to the Trust Domain, since no access
 * token is ever issued for it (`trustDomain` is null while Txn-Tokens are off).
 */
function kindOf(aud: string, trustDomain: string | null): TokenKind {
  return aud === trustDomain ? 'txn_token' : 'access_token';
}

/** Builds the forest from rows ordered oldest first; a token whose parent is not in the chain is a root. */
export function chainTree(
  rows: readonly IssuedToken[],
  now: number,
  trustDomain: string | null = null,
): ChainNodeView[] {
  const byJti = new Map(rows.map((row) => [row.jti, row]));
  const children = new Map<string, IssuedToken[]>();
  const roots: IssuedToken[] = [];
  for (const row of rows) {
    if (row.parentJti !== null && row.parentJti !== row.jti && byJti.has(row.parentJti)) {
      const siblings = children.get(row.parentJti) ?? [];
      siblings.push(row);
      children.set(row.parentJti, siblings);
    } else {
      roots.push(row);
    }
  }
  const visited = new Set<string>();
  const node = (row: IssuedToken, inheritedRevocation: Date | null): ChainNodeView => {
    visited.add(row.jti);
    const revokedAt = earliest(row.revokedAt, inheritedRevocation);
    return {
      jti: row.jti,
      parentJti: row.parentJti,
      kind: kindOf(row.aud, trustDomain),
      actor: row.clientId,
      sub: row.sub,
      aud: row.aud,
      scopes: row.scope.split(' ').filter(Boolean),
      depth: row.depth,
      impersonation: row.impersonation,
      jkt: row.jkt,
      issuedAt: row.issuedAt.toISOString(),
      expiresAt: row.expiresAt.toISOString(),
      revokedAt: row.revokedAt?.toISOString() ?? null,
      status: statusOf(row.expiresAt, revokedAt, now),
      // Lineage never forms a cycle; the visited set makes sure a corrupt row cannot loop here.
      children: (children.get(row.jti) ?? [])
        .filter((child) => !visited.has(child.jti))
        .map((child) => node(child, revokedAt)),
    };
  };
  return roots.map((row) => node(row, null));
}

/**
 * ADR 0015: lineage is dropped by retention, a whole chain at once, some days after its last token
 * expired; the audit log still holds the chain's decisions.
 */
function chainNotFound(txn: string, graceDays: number): ProblemError {
  return new ProblemError(
    404,
    'not_found',
    `no chain "${txn}": none was issued, or lineage retention dropped it (a chain is kept ${graceDays} days after its last token expired; its audit events stay in /admin/audit?txn=${txn})`,
  );
}

export async function chainRoutes(app: FastifyInstance) {
  const { lineage, config, peerGrants } = app.sts;

  app.get<{ Params: TxnParams }>(
    '/chains/:txn',
    {
      schema: {
        summary: 'Show a delegation chain',
        description:
          "Every token issued in the chain txn as a tree, parent → child (and, for a chain that crossed in from a peer domain, its foreign origin): its kind (access token or Txn-Token), actor (client_id, or a Txn-Token's req_wl), subject, audience, scopes, depth, times and status (live, expired or revoked). Lineage retention drops a chain whole once its last token has been expired for LINEAGE_RETENTION_GRACE_DAYS days (plus up to a day, as partitions go by day): the chain then answers 404 like an unknown one, while its audit events stay for AUDIT_RETENTION_DAYS.",
        params: TxnParams,
        response: { 200: ChainView },
      },
    },
    async (request) => {
      const rows = await lineage.chainTokens(request.params.txn);
      if (rows.length === 0) throw chainNotFound(request.params.txn, config.lineageRetentionGraceDays);
      // ADR 0025: where a chain that crossed in from a peer domain came from.
      const origin = await peerGrants.originOf(request.params.txn);
      return {
        txn: request.params.txn,
        tokenCount: rows.length,
        origin: origin && { ...origin, redeemedAt: origin.redeemedAt.toISOString() },
        roots: chainTree(rows, Date.now(), config.txnTokenTrustDomain),
      };
    },
  );
}
