/**
 * Read side of the registry (agents, resources, trusted issuers) with a short-lived cache.
 * DESIGN.md: a database read per request halves throughput, so entries are cached; every admin
 * write calls `invalidate()`, and the one-second TTL bounds how long another instance can serve a
 * stale entry (a disable on one instance is honoured by all within one second).
 */
import type { AgentPolicy, AgentStatus, AudienceEntry } from '../domain/types.js';
import type { PrismaClient } from './database.js';
import type { Agent, TrustedIssuer } from './generated/prisma/client.js';

export interface AgentRecord extends AgentPolicy {
  readonly name: string;
  readonly tokenEndpointAuthMethod: string;
  readonly secretHash: string | null;
  readonly jwks: { keys: unknown[] } | null;
  readonly jwksUri: string | null;
}

export interface TrustedIssuerRecord {
  readonly id: string;
  readonly issuer: string;
  readonly jwks: { keys: unknown[] } | null;
  readonly jwksUri: string | null;
  readonly audiences: readonly string[];
  readonly scopeClaim: 'scope' | 'scp';
  readonly maxDelegationDepth: number | null;
  /** Changes whenever the row changes, so key-set caches keyed by it never outlive an edit. */
  readonly version: string;
}

export function toAgentRecord(row: Agent): AgentRecord {
  return {
    id: row.id,
    name: row.name,
    status: row.status as AgentStatus,
    tokenEndpointAuthMethod: row.tokenEndpointAuthMethod,
    secretHash: row.secretHash,
    jwks: (row.jwks as { keys: unknown[] } | null) ?? null,
    jwksUri: row.jwksUri,
    allowedScopes: row.allowedScopes,
    allowedAudiences: row.allowedAudiences,
    grantTypes: row.grantTypes,
    maxDelegationDepth: row.maxDelegationDepth,
    tokenTtlSeconds: row.tokenTtlSeconds,
    mayImpersonate: row.mayImpersonate,
    dpopBoundAccessTokens: row.dpopBoundAccessTokens,
  };
}

function toTrustedIssuerRecord(row: TrustedIssuer): TrustedIssuerRecord {
  return {
    id: row.id,
    issuer: row.issuer,
    jwks: (row.jwks as { keys: unknown[] } | null) ?? null,
    jwksUri: row.jwksUri,
    audiences: row.audiences,
    scopeClaim: row.scopeClaim === 'scp' ? 'scp' : 'scope',
    maxDelegationDepth: row.maxDelegationDepth,
    version: `${row.id}@${row.updatedAt.getTime()}`,
  };
}

interface CacheEntry {
  readonly value: unknown;
  readonly expiresAt: number;
}

export class Registry {
  readonly #prisma: PrismaClient;
  readonly #ttlMs: number;
  readonly #cache = new Map<string, CacheEntry>();

  constructor(prisma: PrismaClient, options: { ttlMs?: number } = {}) {
    this.#prisma = prisma;
    this.#ttlMs = options.ttlMs ?? 1_000;
  }

  /** Drops every cached entry; called after each registry write. */
  invalidate(): void {
    this.#cache.clear();
  }

  async #cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    const now = performance.now();
    const hit = this.#cache.get(key);
    if (hit && hit.expiresAt > now) return hit.value as T;
    const value = await load();
    this.#cache.set(key, { value, expiresAt: now + this.#ttlMs });
    return value;
  }

  /** The agent, including disabled ones and deleted tombstones; null if never registered. */
  getAgent(id: string): Promise<AgentRecord | null> {
    return this.#cached(`agent:${id}`, async () => {
      const row = await this.#prisma.agent.findUnique({ where: { id } });
      return row ? toAgentRecord(row) : null;
    });
  }

  async getAgents(ids: readonly string[]): Promise<Map<string, AgentRecord>> {
    const entries = await Promise.all(ids.map(async (id) => [id, await this.getAgent(id)] as const));
    return new Map(entries.filter((entry): entry is readonly [string, AgentRecord] => entry[1] !== null));
  }

  /**
   * The ids among `ids` that name an agent, tombstones included, in one uncached query: for the
   * audiences of a presented token, which its sender controls.
   */
  async agentIdsAmong(ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await this.#prisma.agent.findMany({
      where: { id: { in: [...new Set(ids)] } },
      select: { id: true },
    });
    return rows.map((row) => row.id);
  }

  getTrustedIssuer(issuer: string): Promise<TrustedIssuerRecord | null> {
    return this.#cached(`issuer:${issuer}`, async () => {
      const row = await this.#prisma.trustedIssuer.findUnique({ where: { issuer } });
      return row ? toTrustedIssuerRecord(row) : null;
    });
  }

  /** A registered audience: a live agent or a resource. Deleted agents are no audience at all. */
  async getAudience(id: string): Promise<AudienceEntry | null> {
    const agent = await this.getAgent(id);
    if (agent && agent.status !== 'deleted') {
      return { kind: 'agent', id, acceptedScopes: agent.allowedScopes, enabled: agent.status === 'enabled' };
    }
    return this.#cached(`resource:${id}`, async () => {
      const row = await this.#prisma.resource.findUnique({ where: { id } });
      return row ? { kind: 'resource' as const, id: row.id, acceptedScopes: row.scopes } : null;
    });
  }
}
