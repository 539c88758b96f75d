/**
 * Human output: aligned tables, `key  value` blocks, one-line log events and the delegation tree
 * of a chain. Pure functions from data to text, so they are unit-tested without a server.
 */
import type { AdminEvent, AuditEvent, ChainNode, ChainTree } from './types.js';

/** Columns padded to the widest cell; the last column is not padded. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** A `label  value` block, labels aligned. */
export function fields(pairs: readonly (readonly [string, string])[]): string {
  const width = Math.max(...pairs.map(([label]) => label.length));
  return pairs.map(([label, value]) => `${label.padEnd(width)}  ${value}`.trimEnd()).join('\n');
}

export function list(values: readonly string[] | null | undefined): string {
  return values && values.length > 0 ? values.join(', ') : '-';
}

/** RFC 3339 without milliseconds: `2026-11-29T16:40:12Z`. */
export function time(value: string | null | undefined): string {
  if (!value) return '-';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `in 4m 12s` or `3m 5s ago`, for expiry times. */
export function relative(target: Date, now: Date): string {
  const seconds = Math.round((target.getTime() - now.getTime()) / 1000);
  const span = Math.abs(seconds);
  const parts: string[] = [];
  const hours = Math.floor(span / 3600);
  const minutes = Math.floor((span % 3600) / 60);
  if (hours > 0) parts.push(`${hours}h`);
  if (minutes > 0) parts.push(`${minutes}m`);
  if (hours === 0) parts.push(`${span % 60}s`);
  return seconds >= 0 ? `in ${parts.join(' ')}` : `${parts.join(' ')} ago`;
}

const STATUS_MARKS: Record<ChainNode['status'], string> = {
  live: '● live',
  expired: '○ expired',
  revoked: '✗ revoked',
};

/** What the tree shows of an agent that no longer acts: it is disabled, or deleted (404). */
export type AgentMark = 'disabled' | 'deleted';

function nodeLine(node: ChainNode, marks: ReadonlyMap<string, AgentMark>): string {
  const actorMark = marks.get(node.actor);
  const actor = actorMark ? `${node.actor} [agent ${actorMark}]` : node.actor;
  const parts = [
    `${actor} → ${node.aud}`,
    `scopes: ${list(node.scopes)}`,
    STATUS_MARKS[node.status] ?? node.status,
    node.status === 'revoked' && node.revokedAt
      ? `revoked ${time(node.revokedAt)}`
      : `exp ${time(node.expiresAt)}`,
  ];
  if (node.impersonation) parts.push('impersonation');
  if (node.jkt) parts.push('DPoP-bound');
  parts.push(`jti ${node.jti}`);
  return parts.join('  ');
}

function branch(
  node: ChainNode,
  prefix: string,
  last: boolean,
  marks: ReadonlyMap<string, AgentMark>,
): string[] {
  const lines = [`${prefix}${last ? '└─ ' : '├─ '}${nodeLine(node, marks)}`];
  const childPrefix = prefix + (last ? '   ' : '│  ');
  node.children.forEach((child, index) => {
    lines.push(...branch(child, childPrefix, index === node.children.length - 1, marks));
  });
  return lines;
}

/**
 * The delegation tree of a chain: a header, then per subject the tokens issued in its name, each
 * hop as `actor → audience`, its scopes, status (`● live`, `○ expired`, `✗ revoked`) and expiry;
 * agents that are disabled or deleted are marked where they acted.
 */
export function chainTree(chain: ChainTree, marks: ReadonlyMap<string, AgentMark> = new Map()): string {
  const noun = chain.tokenCount === 1 ? 'token' : 'tokens';
  const lines = [`chain ${chain.txn} (${chain.tokenCount} ${noun})`];
  const subjects = new Map<string, ChainNode[]>();
  for (const root of chain.roots) subjects.set(root.sub, [...(subjects.get(root.sub) ?? []), root]);
  for (const [subject, roots] of subjects) {
    lines.push(`${subject} (subject)`);
    roots.forEach((root, index) => lines.push(...branch(root, '', index === roots.length - 1, marks)));
  }
  return lines.join('\n');
}

/** Every actor that appears in a chain, once. */
export function chainActors(chain: ChainTree): string[] {
  const actors = new Set<string>();
  const visit = (node: ChainNode) => {
    actors.add(node.actor);
    node.children.forEach(visit);
  };
  chain.roots.forEach(visit);
  return [...actors];
}

/** One audit event on one line, `key=value` after the time, decision and rule. */
export function auditLine(event: AuditEvent): string {
  const parts = [time(event.at), event.decision.padEnd(7), event.rule];
  const pairs: [string, string | null][] = [
    ['client', event.clientId],
    ['sub', event.subject],
    ['aud', event.audience],
    ['scope', event.grantedScope ?? event.requestedScope],
    ['txn', event.txn],
    ['jti', event.jti],
  ];
  for (const [name, value] of pairs)
    if (value) parts.push(`${name}=${value.includes(' ') ? JSON.stringify(value) : value}`);
  if (event.impersonation) parts.push('impersonation');
  if (event.description && event.decision === 'denied') parts.push(`(${event.description})`);
  return parts.join('  ');
}

/** One admin change on one line: when, what, on which target, by whom, which fields. */
export function adminEventLine(event: AdminEvent): string {
  const by =
    event.actorKind === 'admin_token'
      ? 'admin token'
      : `${event.actor ?? '?'} (jti ${event.actorJti ?? '?'})`;
  const changed = Object.keys(event.changes ?? {});
  return [
    time(event.at),
    event.action,
    `${event.targetType}:${event.targetId}`,
    `by ${by}`,
    ...(changed.length > 0 ? [`fields: ${changed.join(', ')}`] : []),
  ].join('  ');
}
