/**
 * A local deny-list of revoked agent-sts tokens (`jti`) and chains (`txn`), filled by a revocation
 * receiver (push, RFC 8935) or poller (poll, RFC 8936) and consulted by `verifyAgentToken` through
 * its `revocations` option. Each entry is held until the tokens it names can no longer be
 * presented (their latest `exp`, plus the clock tolerance), so the list stays as small as the set
 * of live revoked tokens. It is bounded all the same: past `maxEntries`, the entry that would
 * expire first is dropped first.
 */
import type { AgentToken } from './verify-agent-token.js';

export interface RevocationListOptions {
  /** Most entries held (jtis and txns together). Default 100 000. */
  readonly maxEntries?: number;
  /** Added to every entry's lifetime, for clocks that differ. Seconds, default 60. */
  readonly clockTolerance?: number;
  /** The clock; tests and simulations pass their own. */
  readonly now?: () => number;
}

export interface RevocationEntries {
  readonly jtis?: readonly string[];
  readonly txns?: readonly string[];
  /** The latest time a token named here can still be presented (its `exp`). */
  readonly until: Date;
}

/** What a deny-list needs of a verified token. */
export type RevocableToken = Pick<AgentToken, 'jti' | 'txn' | 'claims'>;

/** What `verifyAgentToken` asks: is this token, its chain or an ancestor revoked? */
export interface RevocationCheck {
  isRevoked(token: RevocableToken): boolean | Promise<boolean>;
}

export interface RevocationList extends RevocationCheck {
  add(entries: RevocationEntries): void;
  /** `jti` or `txn` when the token or its chain is listed (or a `jti` in its `act` chain), else null. */
  match(token: RevocableToken): 'jti' | 'txn' | null;
  readonly size: number;
}

/** The `jti` members of nested `act` claims, when an issuer puts them there. */
function ancestorJtis(act: unknown, depth = 0): string[] {
  if (typeof act !== 'object' || act === null || depth > 64) return [];
  const { jti, act: inner } = act as { jti?: unknown; act?: unknown };
  return [...(typeof jti === 'string' ? [jti] : []), ...ancestorJtis(inner, depth + 1)];
}

export function createRevocationList(options: RevocationListOptions = {}): RevocationList {
  const maxEntries = options.maxEntries ?? 100_000;
  const tolerance = (options.clockTolerance ?? 60) * 1000;
  const now = options.now ?? Date.now;
  /** key (`jti:…` / `txn:…`) → time after which it no longer matters, ms. */
  const entries = new Map<string, number>();

  const alive = (key: string): boolean => {
    const until = entries.get(key);
    if (until === undefined) return false;
    if (until > now()) return true;
    entries.delete(key);
    return false;
  };

  const evict = () => {
    const time = now();
    for (const [key, until] of entries) if (until <= time) entries.delete(key);
    while (entries.size > maxEntries) {
      let first: [string, number] | undefined;
      for (const entry of entries) if (!first || entry[1] < first[1]) first = entry;
      entries.delete(first![0]);
    }
  };

  const put = (key: string, until: number) => {
    entries.set(key, Math.max(until, entries.get(key) ?? 0));
  };

  const list: RevocationList = {
    add({ jtis = [], txns = [], until }) {
      const expiry = until.getTime() + tolerance;
      if (expiry <= now()) return;
      for (const jti of jtis) put(`jti:${jti}`, expiry);
      for (const txn of txns) put(`txn:${txn}`, expiry);
      if (entries.size > maxEntries) evict();
    },
    match(token) {
      if (alive(`jti:${token.jti}`)) return 'jti';
      if (token.txn !== undefined && alive(`txn:${token.txn}`)) return 'txn';
      if (ancestorJtis(token.claims.act).some((jti) => alive(`jti:${jti}`))) return 'jti';
      return null;
    },
    isRevoked(token) {
      return list.match(token) !== null;
    },
    get size() {
      return entries.size;
    },
  };
  return list;
}
