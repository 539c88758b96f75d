/**
 * oidc-provider's storage adapter. Clients come from the agent registry (cached, so an admin
 * change is honoured on the next request); replay records for client assertions (RFC 7523 §3)
 * are kept in PostgreSQL so a replay is caught on any instance and after a restart (CA-09).
 * No other model is used: this service issues its own JWTs and keeps no grants or sessions.
 */
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { failClosed } from './errors.js';
import { hasControlCharacter } from '../domain/audit-field.js';
import { GRANT_CLIENT_CREDENTIALS, GRANT_JWT_BEARER, GRANT_TOKEN_EXCHANGE } from '../domain/types.js';
import type { PrismaClient } from '../infra/database.js';
import type { AgentRecord, Registry } from '../infra/registry.js';
import { claimReplaySlot, REPLAY_DETECTION_MODEL } from '../infra/replay-store.js';
import { workloadKindOf } from '../domain/workload-identity.js';
import { workloadSubject } from './workload-token-endpoint.js';

/** Longest a client assertion can be accepted (lifetime bound plus clock tolerance): the replay window. */
const REPLAY_PLACEHOLDER_SECONDS = 10 * 60;

/** The client metadata oidc-provider validates and uses for authentication. */
export function clientMetadata(agent: AgentRecord): AdapterPayload {
  // ADR 0023: a workload agent is known to the provider as a `tls_client_auth` client whose
  // "certificate subject" only workload-token-endpoint.ts vouches for, after verifying the
  // JWT-SVID or Kubernetes token that proves this identity.
  if (workloadKindOf(agent.tokenEndpointAuthMethod) !== null) {
    return {
      client_id: agent.id,
      token_endpoint_auth_method: 'tls_client_auth',
      tls_client_auth_subject_dn: workloadSubject(agent.workloadIdentity ?? ''),
      grant_types: [GRANT_CLIENT_CREDENTIALS, GRANT_TOKEN_EXCHANGE],
      response_types: [],
      redirect_uris: [],
    } as AdapterPayload;
  }
  return {
    client_id: agent.id,
    // oidc-provider requires a secret for secret methods; it holds the digest and the provider's
    // comparison is replaced to hash the presented secret first (ADR 0002).
    ...(agent.secretHash ? { client_secret: agent.secretHash } : {}),
    token_endpoint_auth_method: agent.tokenEndpointAuthMethod,
    // Grant-type permission is decided by our own rule so that it answers unauthorized_client
    // (CONTRACT §3.2); the provider only needs to know the client may reach the token endpoint.
    grant_types: [GRANT_CLIENT_CREDENTIALS, GRANT_TOKEN_EXCHANGE, GRANT_JWT_BEARER],
    response_types: [],
    redirect_uris: [],
    ...(agent.jwks ? { jwks: agent.jwks } : {}),
    ...(agent.jwksUri ? { jwks_uri: agent.jwksUri } : {}),
  } as AdapterPayload;
}

export function createAdapterClass(prisma: PrismaClient, registry: Registry) {
  return class ProviderAdapter implements Adapter {
    readonly #model: string;

    constructor(model: string) {
      this.#model = model;
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      return failClosed(() => this.#find(id));
    }

    async #find(id: string): Promise<AdapterPayload | undefined> {
      if (this.#model === 'Client') {
        // PostgreSQL text cannot hold a NUL: such an id names no client, and is never looked up.
        if (hasControlCharacter(id)) return undefined;
        const agent = await registry.getAgent(id);
        return agent && agent.status === 'enabled' ? clientMetadata(agent) : undefined;
      }
      if (this.#model === REPLAY_DETECTION_MODEL) return this.#claimReplaySlot(id);
      const row = await prisma.providerRecord.findUnique({ where: { model_id: { model: this.#model, id } } });
      if (!row || (row.expiresAt && row.expiresAt.getTime() <= Date.now())) return undefined;
      return row.payload as AdapterPayload;
    }

    /**
     * ReplayDetection.unique() does find-then-save, which two instances could interleave. Here
     * `find` itself claims the id atomically (infra/replay-store.ts): the first caller inserts and
     * sees "not found", every later caller sees the record. The following `upsert` only sets the
     * real expiry.
     */
    async #claimReplaySlot(id: string): Promise<AdapterPayload | undefined> {
      const expiresAt = new Date(Date.now() + REPLAY_PLACEHOLDER_SECONDS * 1000);
      return (await claimReplaySlot(prisma, id, expiresAt)) ? undefined : { jti: id };
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      return failClosed(() => this.#upsert(id, payload, expiresIn));
    }

    async #upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      const expiresAt = expiresIn ? new Date(Date.now() + expiresIn * 1000) : null;
      const data = { payload: payload as object, expiresAt };
      await prisma.providerRecord.upsert({
        where: { model_id: { model: this.#model, id } },
        create: { model: this.#model, id, ...data },
        update: data,
      });
    }

    async findByUserCode(): Promise<undefined> {
      return undefined;
    }

    async findByUid(): Promise<undefined> {
      return undefined;
    }

    async consume(): Promise<void> {}

    async destroy(id: string): Promise<void> {
      await prisma.providerRecord.deleteMany({ where: { model: this.#model, id } });
    }

    async revokeByGrantId(): Promise<void> {}
  };
}
