/**
 * Write side of the workload trust registry (ADR 0023): the SPIFFE trust domains and Kubernetes
 * clusters whose credentials authenticate agents. Every write goes through the registry admin
 * store's transaction (one registry-wide lock, the admin event in the same transaction, the change
 * announced to every instance and this instance's cache dropped: ADR 0017).
 */
import type { WorkloadKind } from '../domain/workload-identity.js';
import { recordAdminEvent, registryEvent, type AdminChange } from './admin-events.js';
import { RegistryConflict, type PageRequest, type RegistryAdminStore } from './admin-store.js';
import type { PrismaClient } from './database.js';
import { Prisma, type WorkloadIssuer } from './generated/prisma/client.js';

export type { WorkloadIssuer };

export interface WorkloadIssuerData {
  readonly id: string;
  readonly kind: WorkloadKind;
  readonly name: string;
  readonly jwks: object | null;
  readonly jwksUri: string | null;
}

/** Prisma writes SQL NULL into a nullable Json column only through `DbNull`. */
function jwksColumn(value: object | null) {
  return value === null ? Prisma.DbNull : (value as Prisma.InputJsonValue);
}

export class WorkloadTrustStore {
  readonly #prisma: PrismaClient;
  readonly #registry: RegistryAdminStore;

  constructor(prisma: PrismaClient, registry: RegistryAdminStore) {
    this.#prisma = prisma;
    this.#registry = registry;
  }

  create(data: WorkloadIssuerData, by: AdminChange): Promise<WorkloadIssuer> {
    return this.#registry.write(async (tx) => {
      if (await tx.workloadIssuer.findUnique({ where: { id: data.id }, select: { id: true } })) {
        throw new RegistryConflict('id_taken', 'the id is already in use');
      }
      const holder = await tx.workloadIssuer.findUnique({
        where: { kind_name: { kind: data.kind, name: data.name } },
        select: { id: true },
      });
      if (holder) {
        throw new RegistryConflict(
          'issuer_taken',
          data.kind === 'spiffe'
            ? 'this trust domain is already registered'
            : 'this cluster is already registered',
        );
      }
      const row = await tx.workloadIssuer.create({ data: { ...data, jwks: jwksColumn(data.jwks) } });
      await recordAdminEvent(
        tx,
        by,
        await registryEvent('workload_issuer', 'workload_issuer.created', null, row),
      );
      return row;
    });
  }

  async get(kind: WorkloadKind, id: string): Promise<WorkloadIssuer | null> {
    const row = await this.#prisma.workloadIssuer.findUnique({ where: { id } });
    return row?.kind === kind ? row : null;
  }

  list(kind: WorkloadKind, page: PageRequest): Promise<WorkloadIssuer[]> {
    return this.#prisma.workloadIssuer.findMany({
      where: { kind, ...(page.after === null ? {} : { id: { gt: page.after } }) },
      orderBy: { id: 'asc' },
      take: page.take,
    });
  }

  /** Replaces the key source; null when there is no such entry of this kind. */
  updateKeys(
    kind: WorkloadKind,
    id: string,
    keys: { jwks: object | null; jwksUri: string | null },
    by: AdminChange,
  ): Promise<WorkloadIssuer | null> {
    return this.#registry.write(async (tx) => {
      const before = await tx.workloadIssuer.findUnique({ where: { id } });
      if (before?.kind !== kind) return null;
      const after = await tx.workloadIssuer.update({
        where: { id },
        data: { jwks: jwksColumn(keys.jwks), jwksUri: keys.jwksUri },
      });
      await recordAdminEvent(
        tx,
        by,
        await registryEvent('workload_issuer', 'workload_issuer.updated', before, after),
      );
      return after;
    });
  }

  /** False when there is no such entry. The event keeps what it was. */
  delete(kind: WorkloadKind, id: string, by: AdminChange): Promise<boolean> {
    return this.#registry.write(async (tx) => {
      const row = await tx.workloadIssuer.findUnique({ where: { id } });
      if (row?.kind !== kind) return false;
      await tx.workloadIssuer.delete({ where: { id } });
      await recordAdminEvent(
        tx,
        by,
        await registryEvent('workload_issuer', 'workload_issuer.deleted', row, null),
      );
      return true;
    });
  }
}
