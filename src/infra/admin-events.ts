/**
 * The admin change log: one append-only `admin_events` row per successful admin write, saying
 * who (the bootstrap admin token, or the agent and jti of an `sts:admin` access token), which
 * request, what action on which target, and which fields changed from what to what. Each row is
 * written in the transaction of the change it records, so a change is never without its event and
 * a refused request leaves none. The database refuses to update or delete a row; nothing links to
 * the registry, so the log outlives what it records (STYLE.md).
 *
 * What a row may hold is decided field by field below, for every column of every registry table
 * (the compiler insists): values, a JWKS summarised by key, a redacted marker for a secret's digest,
 * or nothing. Never a secret, a secret's digest or private key material (SECURITY-CASES AD-09).
 */
import { isDeepStrictEqual } from 'node:util';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { atBetween } from './audit-store.js';
import type { PrismaClient, Transaction } from './database.js';
import type {
  AdminEvent,
  Agent,
  PeerDomain,
  Prisma,
  Resource,
  TrustedIssuer,
  WorkloadIssuer,
} from './generated/prisma/client.js';

export type { AdminEvent };

/** Stable action names: clients filter on them, so they are never renamed. */
export const ADMIN_ACTIONS = [
  'agent.created',
  'agent.updated',
  'agent.disabled',
  'agent.enabled',
  'agent.secret_rotated',
  'agent.deleted',
  'resource.created',
  'resource.updated',
  'resource.deleted',
  'trusted_issuer.created',
  'trusted_issuer.updated',
  'trusted_issuer.deleted',
  'workload_issuer.created',
  'workload_issuer.updated',
  'workload_issuer.deleted',
  'peer_domain.created',
  'peer_domain.updated',
  'peer_domain.deleted',
  'signing_key.rotated',
  'signing_key.revoked',
  'tokens.revoked',
  'set_receiver.created',
  'set_receiver.deleted',
] as const;
export type AdminAction = (typeof ADMIN_ACTIONS)[number];

/** What an event is about. Revocations name the token (`jti`), the chain (`txn`) or the agent. */
export const ADMIN_TARGET_TYPES = [
  'agent',
  'resource',
  'trusted_issuer',
  'workload_issuer',
  'peer_domain',
  'signing_key',
  'token',
  'chain',
  'set_receiver',
] as const;
export type AdminTargetType = (typeof ADMIN_TARGET_TYPES)[number];

export const ADMIN_ACTOR_KINDS = ['admin_token', 'access_token'] as const;

/** Who made a change: the bootstrap admin token, or the agent holding an `sts:admin` access token. */
export type AdminActor =
  | { readonly kind: 'admin_token' }
  | { readonly kind: 'access_token'; readonly agent: string; readonly jti: string };

/** Who makes a change, and in which request: what every admin write takes. */
export interface AdminChange {
  readonly actor: AdminActor;
  /** The fastify request id, to find the request's log lines. */
  readonly requestId: string;
}

/** `{ field: { before, after } }` for registry rows; a summary for other actions. */
export type AdminEventChanges = Record<string, unknown>;

export interface AdminEventRecord {
  readonly action: AdminAction;
  readonly targetType: AdminTargetType;
  readonly targetId: string;
  readonly changes: AdminEventChanges;
}

/** Writes one event inside `tx`, the transaction of the change it records. */
export async function recordAdminEvent(
  tx: Transaction,
  by: AdminChange,
  event: AdminEventRecord,
): Promise<void> {
  const { actor } = by;
  await tx.adminEvent.create({
    data: {
      actorKind: actor.kind,
      actor: actor.kind === 'access_token' ? actor.agent : null,
      actorJti: actor.kind === 'access_token' ? actor.jti : null,
      action: event.action,
      targetType: event.targetType,
      targetId: event.targetId,
      changes: event.changes as Prisma.InputJsonObject,
      requestId: by.requestId,
    },
  });
}

// ---- what a registry change records ------------------------------------------------------------

/**
 * How a column appears in `changes`: its value; a JWK Set as its keys' `kid` and RFC 7638
 * thumbprint (a key replaced under the same kid still shows); `redacted` says only whether it is
 * set; `omit` never appears (the id is the target, timestamps are the event's own).
 */
type FieldRule = 'value' | 'jwks' | 'redacted' | 'omit';
type FieldRules<Row> = { readonly [Column in keyof Row]-?: FieldRule };

const AGENT_FIELDS = {
  id: 'omit',
  name: 'value',
  description: 'value',
  owner: 'value',
  status: 'value',
  tokenEndpointAuthMethod: 'value',
  secretHash: 'redacted',
  jwks: 'jwks',
  jwksUri: 'value',
  allowedScopes: 'value',
  allowedAudiences: 'value',
  grantTypes: 'value',
  maxDelegationDepth: 'value',
  tokenTtlSeconds: 'value',
  mayImpersonate: 'value',
  dpopBoundAccessTokens: 'value',
  workloadIdentity: 'value',
  createdAt: 'omit',
  updatedAt: 'omit',
  deletedAt: 'value',
} as const satisfies FieldRules<Agent>;

const RESOURCE_FIELDS = {
  id: 'omit',
  name: 'value',
  scopes: 'value',
  createdAt: 'omit',
  updatedAt: 'omit',
} as const satisfies FieldRules<Resource>;

const TRUSTED_ISSUER_FIELDS = {
  id: 'omit',
  issuer: 'value',
  jwks: 'jwks',
  jwksUri: 'value',
  audiences: 'value',
  scopeClaim: 'value',
  maxDelegationDepth: 'value',
  createdAt: 'omit',
  updatedAt: 'omit',
} as const satisfies FieldRules<TrustedIssuer>;

const PEER_DOMAIN_FIELDS = {
  id: 'omit',
  issuer: 'value',
  grantRequesters: 'value',
  grantScopes: 'value',
  grantTtlSeconds: 'value',
  jwks: 'jwks',
  jwksUri: 'value',
  redeemingClients: 'value',
  acceptedScopes: 'value',
  subjectMapping: 'value',
  maxDelegationDepth: 'value',
  createdAt: 'omit',
  updatedAt: 'omit',
} as const satisfies FieldRules<PeerDomain>;

export const REDACTED = '[redacted]';

async function jwksSummary(jwks: unknown): Promise<{ kid: string | null; thumbprint: string | null }[]> {
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) return [];
  return Promise.all(
    keys.map(async (key: JWK) => ({
      kid: typeof key.kid === 'string' ? key.kid : null,
      // Only asymmetric public keys are registered (AD-06); a symmetric one's thumbprint hashes its secret.
      thumbprint:
        key.kty === 'EC' || key.kty === 'RSA' || key.kty === 'OKP'
          ? await calculateJwkThumbprint(key).catch(() => null)
          : null,
    })),
  );
}

async function shown(rule: FieldRule, value: unknown): Promise<unknown> {
  if (value === null || value === undefined) return null;
  if (rule === 'redacted') return REDACTED;
  if (rule === 'jwks') return jwksSummary(value);
  return value instanceof Date ? value.toISOString() : value;
}

/** The fields whose values differ between two states of a row (null: before creation, after deletion). */
async function diff<Row extends object>(
  rules: FieldRules<Row>,
  before: Row | null,
  after: Row | null,
): Promise<AdminEventChanges> {
  const changes: AdminEventChanges = {};
  for (const [field, rule] of Object.entries(rules) as [keyof Row & string, FieldRule][]) {
    if (rule === 'omit') continue;
    const old = before?.[field] ?? null;
    const now = after?.[field] ?? null;
    if (isDeepStrictEqual(old, now)) continue;
    changes[field] = { before: await shown(rule, old), after: await shown(rule, now) };
  }
  return changes;
}

/** The event of a change to an agent, a resource or a trusted issuer, with the fields that changed. */
export async function registryEvent<Type extends keyof RegistryRows>(
  targetType: Type,
  action: Extract<AdminAction, `${Type}.${string}`>,
  before: RegistryRow<Type> | null,
  after: RegistryRow<Type> | null,
): Promise<AdminEventRecord> {
  const row = after ?? before;
  if (row === null) throw new Error('a registry event needs the row before or after the change');
  const rules = REGISTRY_FIELDS[targetType] as FieldRules<RegistryRow<Type>>;
  return { action, targetType, targetId: row.id, changes: await diff(rules, before, after) };
}

interface RegistryRows {
  agent: Agent;
  resource: Resource;
  trusted_issuer: TrustedIssuer;
  workload_issuer: WorkloadIssuer;
  peer_domain: PeerDomain;
}
type RegistryRow<Type extends keyof RegistryRows> = RegistryRows[Type];

const WORKLOAD_ISSUER_FIELDS = {
  id: 'omit',
  kind: 'value',
  name: 'value',
  jwks: 'jwks',
  jwksUri: 'value',
  createdAt: 'omit',
  updatedAt: 'omit',
} as const satisfies FieldRules<WorkloadIssuer>;

const REGISTRY_FIELDS: { [Type in keyof RegistryRows]: FieldRules<RegistryRows[Type]> } = {
  agent: AGENT_FIELDS,
  resource: RESOURCE_FIELDS,
  trusted_issuer: TRUSTED_ISSUER_FIELDS,
  workload_issuer: WORKLOAD_ISSUER_FIELDS,
  peer_domain: PEER_DOMAIN_FIELDS,
};

// ---- read side -----------------------------------------------------------------------------------

export interface AdminEventFilter {
  /** The agent whose `sts:admin` token made the change. */
  readonly actor?: string;
  readonly actorKind?: (typeof ADMIN_ACTOR_KINDS)[number];
  readonly action?: AdminAction;
  readonly targetType?: AdminTargetType;
  readonly targetId?: string;
  /** Inclusive bounds on the event time. */
  readonly from?: Date;
  readonly to?: Date;
}

export interface AdminEventPage {
  /** Only events older than this id (the previous page's last one). */
  readonly before: bigint | null;
  readonly take: number;
}

/** Read side of the change log (`GET /admin/events`): filtered, newest first, paged by id. */
export class AdminEventLog {
  readonly #prisma: PrismaClient;

  constructor(prisma: PrismaClient) {
    this.#prisma = prisma;
  }

  list(filter: AdminEventFilter, page: AdminEventPage): Promise<AdminEvent[]> {
    const where: Prisma.AdminEventWhereInput = {
      ...(filter.actor !== undefined ? { actor: filter.actor } : {}),
      ...(filter.actorKind !== undefined ? { actorKind: filter.actorKind } : {}),
      ...(filter.action !== undefined ? { action: filter.action } : {}),
      ...(filter.targetType !== undefined ? { targetType: filter.targetType } : {}),
      ...(filter.targetId !== undefined ? { targetId: filter.targetId } : {}),
      ...atBetween(filter),
      ...(page.before !== null ? { id: { lt: page.before } } : {}),
    };
    return this.#prisma.adminEvent.findMany({ where, orderBy: { id: 'desc' }, take: page.take });
  }
}
