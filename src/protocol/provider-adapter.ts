/**
 * oidc-provider's storage adapter. The provider serves only discovery and the JWKS (ADR 0027),
 * which read no stored model: clients, grants, sessions and replay records live in this service's
 * own tables and are never asked of the provider. An explicit adapter keeps it from falling back
 * to its development-only in-memory one (and from warning about it).
 */
import type { Adapter, AdapterPayload } from 'oidc-provider';

export class NoStorageAdapter implements Adapter {
  async upsert(): Promise<void> {
    throw new Error('oidc-provider asked to store a model; it serves only discovery and the JWKS');
  }

  async find(): Promise<AdapterPayload | undefined> {
    return undefined;
  }

  async findByUserCode(): Promise<AdapterPayload | undefined> {
    return undefined;
  }

  async findByUid(): Promise<AdapterPayload | undefined> {
    return undefined;
  }

  async consume(): Promise<void> {}

  async destroy(): Promise<void> {}

  async revokeByGrantId(): Promise<void> {}
}
