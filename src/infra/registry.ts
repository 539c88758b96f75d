/**
 * Read side of the registry (agents, resources, trusted issuers) with a short-lived cache.
 * DESIGN.md: a database read per request halves throughput, so entries are cached; every admin
 * write calls `invalidate()`, and the one-second TTL bounds how long another instance can serve a
 * stale entry (a disable on one instance is honoured by all within one second).
 *
 * Lookups are keyed by what requests send (a `client_id`, a token's `iss`, a target), so the cache
 * is bounded (ADR 0010): a value that cannot name an entry (domain/identifiers.ts) is answered
 * "not found" without touching the cache or the database, and the rest, hits and misses alike,
 * live in an LRU bounded in entries and in size, least recently used out first.
 */
import { LRUCache } from 'lru-cache';
import { isAgentId, isIssuerIdentifier, isResourceId } from '../domain/identifiers.js';
import type { AgentPolicy, AgentStatus, AudienceEntry } from '../domain/types.js';
import type { PrismaClient } from './database.js';
import type { SubjectMapping } from '../domain/foreign-actor.js';
import type { WorkloadKind } from '../domain/workload-identity.js';
import type { Agent, PeerDomain, TrustedIssuer, WorkloadIssuer } from './generated/prisma/client.js';

export interface AgentRecord extends AgentPolicy {
  readonly name: string;
  readonly tokenEndpointAuthMethod: string;
  readonly secretHash: string | null;
  readonly jwks: { keys: unknown[] } | null;
  readonly jwksUri: string | null;
  /** The workload identity key of a workload-authenticated agent (ADR 0023), else null. */
  readonly workloadIdentity: string | null;
}

/** A SPIFFE trust domain or a Kubernetes cluster whose credentials authenticate agents (ADR 0023). */
export interface WorkloadIssuerRecord {
  readonly id: string;
  readonly kind: WorkloadKind;
  /** The trust domain name, or the cluster's issuer URL. */
  readonly name: string;
  readonly jwks: { keys: unknown[] } | null;
  readonly jwksUri: string | null;
  /** Changes whenever the row changes, so key-set caches keyed by it never outlive an edit. */
  readonly version: string;
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
    workloadIdentity: row.workloadIdentity,
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

function toWorkloadIssuerRecord(row: WorkloadIssuer): WorkloadIssuerRecord {
  return {
    id: row.id,
    kind: row.kind === 'kubernetes' ? 'kubernetes' : 'spiffe',
    name: row.name,
    jwks: (row.jwks as { keys: unknown[] } | null) ?? null,
    jwksUri: row.jwksUri,
    version: `${row.id}@${row.updatedAt.getTime()}`,
  };
}

/** A peer domain (ADR 0025): the audience of grants issued here, the issuer of grants redeemed here. */
export interface PeerDomainRecord {
  readonly id: string;
  readonly issuer: string;
  readonly grantRequesters: readonly string[];
  readonly grantScopes: readonly string[];
  readonly grantTtlSeconds: number;
  readonly jwks: { keys: unknown[] } | null;
  readonly jwksUri: string | null;
  readonly redeemingClients: readonly string[];
  readonly acceptedScopes: readonly string[];
  readonly subjectMapping: SubjectMapping;
  readonly maxDelegationDepth: number | null;
  /** Changes whenever the row changes, so key-set caches keyed by it never outlive an edit. */
  readonly version: string;
}

function toPeerDomainRecord(row: PeerDomain): PeerDomainRecord {
  return {
    id: row.id,
    issuer: row.issuer,
    grantRequesters: row.grantRequesters,
    grantScopes: row.grantScopes,
    grantTtlSeconds: row.grantTtlSeconds,
    jwks: (row.jwks as { keys: unknown[] } | null) ?? null,
    jwksUri: row.jwksUri,
    redeemingClients: row.redeemingClients,
    acceptedScopes: row.acceptedScopes,
    subjectMapping: row.subjectMapping === 'qualify' ? 'qualify' : 'preserve',
    maxDelegationDepth: row.maxDelegationDepth,
    version: `${row.id}@${row.updatedAt.getTime()}`,
  };
}

/** Longest workload identity key looked up: a SPIFFE ID (2048) or an issuer URL plus a subject. */
const MAX_WORKLOAD_KEY_LENGTH = 4096;

/** A cached lookup; `value` is null for "not found", which is cached as well. */
interface CacheEntry {
  readonly value: unknown;
}

/** Most entries one instance caches: far more than the agents, resources and issuers hot in one TTL. */
export const REGISTRY_CACHE_MAX_ENTRIES = 10_000;
/**
 * Most the cache holds, in characters of keys and JSON values plus a fixed overhead per entry
 * (about 8 MiB of heap). Whichever bound is reached first evicts: misses under the longest keys
 * (MAX_URL_LENGTH) fill it at about 4,000 entries, large records (inline JWKS, long lists) sooner.
 */
export const REGISTRY_CACHE_MAX_SIZE = 8 * 1024 * 1024;
const ENTRY_OVERHEAD = 64;

export interface RegistryOptions {
  /** How long an entry is served, in milliseconds; one second by default (ADR 0004). */
  readonly ttlMs?: number;
  readonly maxEntries?: number;
  /** See REGISTRY_CACHE_MAX_SIZE. */
  readonly maxSize?: number;
}

function entrySize(entry: CacheEntry, key: string): number {
  return ENTRY_OVERHEAD + key.length + (entry.value === null ? 0 : JSON.stringify(entry.value).length);
}

export class Registry {
  readonly #prisma: PrismaClient;
  readonly #cache: LRUCache<string, CacheEntry>;
  /** Counts invalidations, so a read that straddles one does not refill the cache with what it saw. */
  #generation = 0;
  /**
   * Reads in flight by key, so that the requests that miss together (every one in flight when an
   * entry expires) share one read instead of each sending its own (ADR 0021). Emptied by
   * `invalidate`: a request after an invalidation never joins a read begun before it.
   */
  #loading = new Map<string, Promise<unknown>>();

  constructor(prisma: PrismaClient, options: RegistryOptions = {}) {
    this.#prisma = prisma;
    this.#cache = new LRUCache<string, CacheEntry>({
      max: options.maxEntries ?? REGISTRY_CACHE_MAX_ENTRIES,
      maxSize: options.maxSize ?? REGISTRY_CACHE_MAX_SIZE,
      sizeCalculation: entrySize,
      ttl: options.ttlMs ?? 1_000,
    });
  }

  /**
   * Drops every cached entry; called after each registry write, on this instance at once and on
   * every instance when the change feed announces it (ADR 0017).
   */
  invalidate(): void {
    this.#generation += 1;
    this.#cache.clear();
    this.#loading.clear();
  }

  #cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    const hit = this.#cache.get(key);
    if (hit) return Promise.resolve(hit.value as T);
    const loading = this.#loading.get(key);
    if (loading) return loading as Promise<T>;
    const read = this.#load(key, load).finally(() => {
      if (this.#loading.get(key) === read) this.#loading.delete(key);
    });
    this.#loading.set(key, read);
    return read;
  }

  async #load<T>(key: string, load: () => Promise<T>): Promise<T> {
    // The TTL counts from before the read, so no entry is served longer than the TTL after it.
    const start = performance.now();
    const generation = this.#generation;
    const value = await load();
    // A read that began before an invalidation may have seen the old row: answer with it, as a
    // read racing the write may, but never cache it past the invalidation.
    if (generation === this.#generation) this.#cache.set(key, { value }, { start });
    return value;
  }

  /** The agent, including disabled ones and deleted tombstones; null if never registered. */
  getAgent(id: string): Promise<AgentRecord | null> {
    if (!isAgentId(id)) return Promise.resolve(null);
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
    const candidates = [...new Set(ids.filter(isAgentId))];
    if (candidates.length === 0) return [];
    const rows = await this.#prisma.agent.findMany({
      where: { id: { in: candidates } },
      select: { id: true },
    });
    return rows.map((row) => row.id);
  }

  getTrustedIssuer(issuer: string): Promise<TrustedIssuerRecord | null> {
    if (!isIssuerIdentifier(issuer)) return Promise.resolve(null);
    return this.#cached(`issuer:${issuer}`, async () => {
      const row = await this.#prisma.trustedIssuer.findUnique({ where: { issuer } });
      return row ? toTrustedIssuerRecord(row) : null;
    });
  }

  /** The agent bound to a workload identity key (ADR 0023), tombstones included; null if none. */
  getAgentByWorkloadIdentity(key: string): Promise<AgentRecord | null> {
    if (key === '' || key.length > MAX_WORKLOAD_KEY_LENGTH) return Promise.resolve(null);
    return this.#cached(`workload:${key}`, async () => {
      const row = await this.#prisma.agent.findUnique({ where: { workloadIdentity: key } });
      return row ? toAgentRecord(row) : null;
    });
  }

  /** A registered trust domain (by name) or cluster (by issuer URL). */
  getWorkloadIssuer(kind: WorkloadKind, name: string): Promise<WorkloadIssuerRecord | null> {
    if (name === '' || name.length > MAX_WORKLOAD_KEY_LENGTH) return Promise.resolve(null);
    return this.#cached(`workload-issuer:${kind}:${name}`, async () => {
      const row = await this.#prisma.workloadIssuer.findUnique({ where: { kind_name: { kind, name } } });
      return row ? toWorkloadIssuerRecord(row) : null;
    });
  }

  /** The peer domain with this issuer identifier (ADR 0025), or null. */
  getPeerDomain(issuer: string): Promise<PeerDomainRecord | null> {
    if (!isIssuerIdentifier(issuer)) return Promise.resolve(null);
    return this.#cached(`peer:${issuer}`, async () => {
      const row = await this.#prisma.peerDomain.findUnique({ where: { issuer } });
      return row ? toPeerDomainRecord(row) : null;
    });
  }

  /** A registered audience: a live agent or a resource. Deleted agents are no audience at all. */
  async getAudience(id: string): Promise<AudienceEntry | null> {
    const agent = await this.getAgent(id);
    if (agent && agent.status !== 'deleted') {
      return { kind: 'agent', id, acceptedScopes: agent.allowedScopes, enabled: agent.status === 'enabled' };
    }
    if (!isResourceId(id)) return null;
    return this.#cached(`resource:${id}`, async () => {
      const row = await this.#prisma.resource.findUnique({ where: { id } });
      return row ? { kind: 'resource' as const, id: row.id, acceptedScopes: row.scopes } : null;
    });
  }
}
