/**
 * Write side of the registry (agents, resources, trusted issuers) for the admin API. Every write
 * runs in one transaction under a registry-wide advisory lock, so the checks that span tables
 * (an id is an agent or a resource, never both; a trusted issuer's audience is never an agent) see
 * every concurrent write, on any instance (SECURITY-CASES AD-04, AD-08). Each write records its
 * admin event (admin-events.ts) in the same transaction, so a refused write records nothing. After
 * each committed write `onCommit` runs, so this instance's read-side cache (registry.ts) drops what
 * it held, and the change is published in the write's transaction, so every other instance's does
 * too as soon as it commits (ADR 0017).
 */
import { recordAdminEvent, registryEvent, type AdminChange } from './admin-events.js';
import type { PrismaClient, Transaction } from './database.js';
import {
  Prisma,
  type Agent,
  type PeerDomain,
  type Resource,
  type TrustedIssuer,
} from './generated/prisma/client.js';

export type { Agent, PeerDomain, Resource, TrustedIssuer };

/** Arbitrary but fixed key of the advisory lock that serialises registry writes. */
const REGISTRY_LOCK_KEY = 72_685_011;

export type RegistryConflictCode =
  'id_taken' | 'issuer_taken' | 'audience_is_agent' | 'audience_is_resource' | 'workload_identity_taken';

/** A write refused because of what else the registry holds. */
export class RegistryConflict extends Error {
  readonly code: RegistryConflictCode;

  constructor(code: RegistryConflictCode, message: string) {
    super(message);
    this.name = 'RegistryConflict';
    this.code = code;
  }
}

type Writable<Row> = Omit<Row, 'createdAt' | 'updatedAt' | 'jwks'> & { jwks: object | null };
export type AgentData = Writable<Agent>;
export type ResourceData = Omit<Resource, 'createdAt' | 'updatedAt'>;
export type TrustedIssuerData = Writable<TrustedIssuer>;
export type PeerDomainData = Writable<PeerDomain>;
/** What a change may set: anything but the id. */
export type Change<Data> = Partial<Omit<Data, 'id'>>;
/** The admin actions that change an existing agent. */
export type AgentUpdateAction =
  'agent.updated' | 'agent.disabled' | 'agent.enabled' | 'agent.secret_rotated' | 'agent.deleted';

export interface PageRequest {
  /** Only rows whose id sorts after this one. */
  readonly after: string | null;
  readonly take: number;
}

function pageArgs(page: PageRequest) {
  return {
    where: page.after === null ? {} : { id: { gt: page.after } },
    orderBy: { id: 'asc' as const },
    take: page.take,
  };
}

/** Prisma writes SQL NULL into a nullable Json column only through `DbNull`. */
function jsonColumn(value: object | null | undefined) {
  return value === null ? Prisma.DbNull : (value as Prisma.InputJsonValue | undefined);
}

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === 'P2002';
}

/** What a committed registry write sets off. */
export interface RegistryChangeHooks {
  /** Runs last in the write's transaction: announces the change to every instance (change-feed.ts). */
  readonly publish: (tx: Transaction) => Promise<void>;
  /** Runs after the commit: this instance's own cache drops what it held at once. */
  readonly onCommit: () => void;
}

export class RegistryAdminStore {
  readonly #prisma: PrismaClient;
  readonly #hooks: RegistryChangeHooks;

  constructor(prisma: PrismaClient, hooks: RegistryChangeHooks) {
    this.#prisma = prisma;
    this.#hooks = hooks;
  }

  async #write<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await this.#prisma.$transaction(async (tx) => {
        await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${REGISTRY_LOCK_KEY})`);
        const done = await work(tx);
        await this.#hooks.publish(tx);
        return done;
      });
    } catch (error) {
      // Every writer takes the lock, so this is a backstop, not a path normal requests take.
      if (isUniqueViolation(error)) throw new RegistryConflict('id_taken', 'the id is already in use');
      throw error;
    }
    this.#hooks.onCommit();
    return result;
  }

  /**
   * A registry write of another store (workload-trust-store.ts): the same lock, change
   * announcement and cache drop as every write here.
   */
  write<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.#write(work);
  }

  /**
   * Loads a row under the lock, lets `change` compute the new values from it (it may throw to
   * refuse, and nothing is written), then saves them and records `event` of the two states. Null
   * when `load` finds nothing.
   */
  #modify<Row, Data>(
    load: (tx: Transaction) => Promise<Row | null>,
    change: (current: Row) => Promise<Data>,
    save: (tx: Transaction, current: Row, data: Data) => Promise<Row>,
    record: (tx: Transaction, before: Row, after: Row) => Promise<void>,
  ): Promise<Row | null> {
    return this.#write(async (tx) => {
      const current = await load(tx);
      if (current === null) return null;
      const saved = await save(tx, current, await change(current));
      await record(tx, current, saved);
      return saved;
    });
  }

  /** What already uses `id` as a client_id or audience, if anything. Tombstones count (AD-04). */
  async #idHolder(tx: Transaction, id: string): Promise<string | null> {
    if (await tx.agent.findUnique({ where: { id }, select: { id: true } })) return 'an agent';
    if (await tx.resource.findUnique({ where: { id }, select: { id: true } })) return 'a resource';
    return null;
  }

  /**
   * An id that unexpired tokens name as their `aud` (a resource deleted a moment ago) cannot
   * become an agent: the new agent could exchange tokens that were never meant for it.
   */
  async #checkNoLiveTokensAddressedTo(tx: Transaction, id: string): Promise<void> {
    const liveToken = await tx.issuedToken.findFirst({
      where: { aud: id, expiresAt: { gt: new Date() } },
      select: { jti: true },
    });
    if (liveToken) {
      throw new RegistryConflict(
        'id_taken',
        'unexpired tokens are addressed to this id; retry once they expire',
      );
    }
  }

  /**
   * The `audiences` by which a trusted issuer addresses this service are no one else's: a token
   * addressed to an agent belongs to that agent alone (CONTRACT §4), and a token addressed to a
   * resource is that resource's — as an agent-sts audience, any agent could exchange it.
   */
  async #checkAudiencesAreNotRegistered(tx: Transaction, audiences: readonly string[]): Promise<void> {
    const agent = await tx.agent.findFirst({ where: { id: { in: [...audiences] } }, select: { id: true } });
    if (agent) {
      throw new RegistryConflict('audience_is_agent', `audience "${agent.id}" is a registered agent id`);
    }
    const resource = await tx.resource.findFirst({
      where: { id: { in: [...audiences] } },
      select: { id: true },
    });
    if (resource) {
      throw new RegistryConflict(
        'audience_is_resource',
        `audience "${resource.id}" is a registered resource id`,
      );
    }
  }

  /**
   * A new agent or resource may not take a peer domain's issuer (ADR 0025): a target with that
   * name would turn the peer's authorization grants into ordinary tokens.
   */
  async #checkNotAPeerIssuer(tx: Transaction, id: string): Promise<void> {
    if (await tx.peerDomain.findUnique({ where: { issuer: id }, select: { id: true } })) {
      throw new RegistryConflict('id_taken', 'the id is the issuer of a registered peer domain');
    }
  }

  /** The converse: a new agent or resource may not take an id a trusted issuer uses for agent-sts. */
  async #checkNotATrustedIssuerAudience(tx: Transaction, id: string): Promise<void> {
    const issuer = await tx.trustedIssuer.findFirst({
      where: { audiences: { has: id } },
      select: { id: true },
    });
    if (issuer) {
      throw new RegistryConflict(
        'id_taken',
        'the id is an audience by which a trusted issuer addresses this service',
      );
    }
  }

  /** ADR 0023: a workload identity authenticates one agent, never two; tombstones keep theirs. */
  async #checkWorkloadIdentityFree(tx: Transaction, identity: string | null | undefined, id: string) {
    if (identity === null || identity === undefined) return;
    const holder = await tx.agent.findUnique({ where: { workloadIdentity: identity }, select: { id: true } });
    if (holder && holder.id !== id) {
      throw new RegistryConflict(
        'workload_identity_taken',
        'this workload identity is already bound to another agent',
      );
    }
  }

  // ---- agents --------------------------------------------------------------------------------

  createAgent(data: AgentData, by: AdminChange): Promise<Agent> {
    return this.#write(async (tx) => {
      const holder = await this.#idHolder(tx, data.id);
      if (holder) throw new RegistryConflict('id_taken', `the id is already used by ${holder}`);
      await this.#checkNoLiveTokensAddressedTo(tx, data.id);
      await this.#checkNotATrustedIssuerAudience(tx, data.id);
      await this.#checkWorkloadIdentityFree(tx, data.workloadIdentity, data.id);
      await this.#checkNotAPeerIssuer(tx, data.id);
      const row = await tx.agent.create({ data: { ...data, jwks: jsonColumn(data.jwks) } });
      await recordAdminEvent(tx, by, await registryEvent('agent', 'agent.created', null, row));
      return row;
    });
  }

  /** The agent, including disabled ones and deleted tombstones. */
  getAgent(id: string): Promise<Agent | null> {
    return this.#prisma.agent.findUnique({ where: { id } });
  }

  listAgents(page: PageRequest, includeDeleted: boolean): Promise<Agent[]> {
    const args = pageArgs(page);
    return this.#prisma.agent.findMany({
      ...args,
      where: { ...args.where, ...(includeDeleted ? {} : { status: { not: 'deleted' } }) },
    });
  }

  /** Changes a live agent; null when it does not exist or is deleted (tombstones never change). */
  updateAgent(
    id: string,
    action: AgentUpdateAction,
    change: (current: Agent) => Promise<Change<AgentData>>,
    by: AdminChange,
  ): Promise<Agent | null> {
    return this.#modify(
      (tx) => tx.agent.findFirst({ where: { id, status: { not: 'deleted' } } }),
      change,
      async (tx, _current, data) => {
        await this.#checkWorkloadIdentityFree(tx, data.workloadIdentity, id);
        return tx.agent.update({ where: { id }, data: { ...data, jwks: jsonColumn(data.jwks) } });
      },
      async (tx, before, after) =>
        recordAdminEvent(tx, by, await registryEvent('agent', action, before, after)),
    );
  }

  // ---- resources -----------------------------------------------------------------------------

  createResource(data: ResourceData, by: AdminChange): Promise<Resource> {
    return this.#write(async (tx) => {
      const holder = await this.#idHolder(tx, data.id);
      if (holder) throw new RegistryConflict('id_taken', `the id is already used by ${holder}`);
      await this.#checkNotATrustedIssuerAudience(tx, data.id);
      await this.#checkNotAPeerIssuer(tx, data.id);
      const row = await tx.resource.create({ data });
      await recordAdminEvent(tx, by, await registryEvent('resource', 'resource.created', null, row));
      return row;
    });
  }

  getResource(id: string): Promise<Resource | null> {
    return this.#prisma.resource.findUnique({ where: { id } });
  }

  listResources(page: PageRequest): Promise<Resource[]> {
    return this.#prisma.resource.findMany(pageArgs(page));
  }

  updateResource(id: string, change: (current: Resource) => Promise<Change<ResourceData>>, by: AdminChange) {
    return this.#modify(
      (tx) => tx.resource.findUnique({ where: { id } }),
      change,
      (tx, _current, data) => tx.resource.update({ where: { id }, data }),
      async (tx, before, after) =>
        recordAdminEvent(tx, by, await registryEvent('resource', 'resource.updated', before, after)),
    );
  }

  /** False when there is no such resource. The event keeps what the resource was. */
  deleteResource(id: string, by: AdminChange): Promise<boolean> {
    return this.#write(async (tx) => {
      const row = await tx.resource.findUnique({ where: { id } });
      if (row === null) return false;
      await tx.resource.delete({ where: { id } });
      await recordAdminEvent(tx, by, await registryEvent('resource', 'resource.deleted', row, null));
      return true;
    });
  }

  // ---- trusted issuers -----------------------------------------------------------------------

  async #checkIssuerFree(tx: Transaction, issuer: string, exceptId: string | null): Promise<void> {
    const holder = await tx.trustedIssuer.findUnique({ where: { issuer }, select: { id: true } });
    if (holder && holder.id !== exceptId) {
      throw new RegistryConflict('issuer_taken', 'this issuer is already registered');
    }
  }

  createTrustedIssuer(data: TrustedIssuerData, by: AdminChange): Promise<TrustedIssuer> {
    return this.#write(async (tx) => {
      if (await tx.trustedIssuer.findUnique({ where: { id: data.id }, select: { id: true } })) {
        throw new RegistryConflict('id_taken', 'the id is already used by a trusted issuer');
      }
      await this.#checkIssuerFree(tx, data.issuer, null);
      await this.#checkAudiencesAreNotRegistered(tx, data.audiences);
      const row = await tx.trustedIssuer.create({ data: { ...data, jwks: jsonColumn(data.jwks) } });
      await recordAdminEvent(
        tx,
        by,
        await registryEvent('trusted_issuer', 'trusted_issuer.created', null, row),
      );
      return row;
    });
  }

  getTrustedIssuer(id: string): Promise<TrustedIssuer | null> {
    return this.#prisma.trustedIssuer.findUnique({ where: { id } });
  }

  listTrustedIssuers(page: PageRequest): Promise<TrustedIssuer[]> {
    return this.#prisma.trustedIssuer.findMany(pageArgs(page));
  }

  updateTrustedIssuer(
    id: string,
    change: (current: TrustedIssuer) => Promise<Change<TrustedIssuerData>>,
    by: AdminChange,
  ) {
    return this.#modify(
      (tx) => tx.trustedIssuer.findUnique({ where: { id } }),
      change,
      async (tx, _current, data) => {
        if (data.issuer !== undefined) await this.#checkIssuerFree(tx, data.issuer, id);
        if (data.audiences !== undefined) await this.#checkAudiencesAreNotRegistered(tx, data.audiences);
        return tx.trustedIssuer.update({ where: { id }, data: { ...data, jwks: jsonColumn(data.jwks) } });
      },
      async (tx, before, after) =>
        recordAdminEvent(
          tx,
          by,
          await registryEvent('trusted_issuer', 'trusted_issuer.updated', before, after),
        ),
    );
  }

  /** False when there is no such trusted issuer. The event keeps what the issuer was. */
  deleteTrustedIssuer(id: string, by: AdminChange): Promise<boolean> {
    return this.#write(async (tx) => {
      const row = await tx.trustedIssuer.findUnique({ where: { id } });
      if (row === null) return false;
      await tx.trustedIssuer.delete({ where: { id } });
      await recordAdminEvent(
        tx,
        by,
        await registryEvent('trusted_issuer', 'trusted_issuer.deleted', row, null),
      );
      return true;
    });
  }

  // ---- peer domains (ADR 0025) -------------------------------------------------------------

  /**
   * A peer's issuer is the `aud` of the grants issued for it here: it may not also name an agent
   * or a resource, whose tokens would then be addressed to the peer.
   */
  async #checkPeerIssuerFree(tx: Transaction, issuer: string, exceptId: string | null): Promise<void> {
    const holder = await tx.peerDomain.findUnique({ where: { issuer }, select: { id: true } });
    if (holder && holder.id !== exceptId) {
      throw new RegistryConflict('issuer_taken', 'this issuer is already registered as a peer domain');
    }
    const registered = await this.#idHolder(tx, issuer);
    if (registered) {
      throw new RegistryConflict('id_taken', `the issuer is already used by ${registered}`);
    }
  }

  createPeerDomain(data: PeerDomainData, by: AdminChange): Promise<PeerDomain> {
    return this.#write(async (tx) => {
      if (await tx.peerDomain.findUnique({ where: { id: data.id }, select: { id: true } })) {
        throw new RegistryConflict('id_taken', 'the id is already used by a peer domain');
      }
      await this.#checkPeerIssuerFree(tx, data.issuer, null);
      const row = await tx.peerDomain.create({ data: { ...data, jwks: jsonColumn(data.jwks) } });
      await recordAdminEvent(tx, by, await registryEvent('peer_domain', 'peer_domain.created', null, row));
      return row;
    });
  }

  getPeerDomain(id: string): Promise<PeerDomain | null> {
    return this.#prisma.peerDomain.findUnique({ where: { id } });
  }

  listPeerDomains(page: PageRequest): Promise<PeerDomain[]> {
    return this.#prisma.peerDomain.findMany(pageArgs(page));
  }

  updatePeerDomain(
    id: string,
    change: (current: PeerDomain) => Promise<Change<PeerDomainData>>,
    by: AdminChange,
  ) {
    return this.#modify(
      (tx) => tx.peerDomain.findUnique({ where: { id } }),
      change,
      async (tx, _current, data) => {
        if (data.issuer !== undefined) await this.#checkPeerIssuerFree(tx, data.issuer, id);
        return tx.peerDomain.update({ where: { id }, data: { ...data, jwks: jsonColumn(data.jwks) } });
      },
      async (tx, before, after) =>
        recordAdminEvent(tx, by, await registryEvent('peer_domain', 'peer_domain.updated', before, after)),
    );
  }

  /** False when there is no such peer domain. Every chain it started here ends with it. */
  deletePeerDomain(id: string, by: AdminChange): Promise<boolean> {
    return this.#write(async (tx) => {
      const row = await tx.peerDomain.findUnique({ where: { id } });
      if (row === null) return false;
      await tx.peerDomain.delete({ where: { id } });
      await recordAdminEvent(tx, by, await registryEvent('peer_domain', 'peer_domain.deleted', row, null));
      return true;
    });
  }
}
