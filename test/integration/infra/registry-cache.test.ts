/**
 * The registry's cache against the real database (issue #6, ADR 0010): a value that cannot name
 * an entry is answered "not found" without a read; everything else is cached for the TTL, in an
 * LRU bounded in entries and in size. What the cache holds is observed from outside: a row written
 * behind the registry's back (no invalidate) shows only once its cached miss is gone.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../../src/infra/database.js';
import { Registry } from '../../../src/infra/registry.js';
import { openMigratedDatabase } from '../../helpers/server.js';

const LONG_TTL_MS = 60_000;

describe('registry cache', () => {
  let database: Database;
  let close: () => Promise<void>;
  let counter = 0;

  beforeAll(async () => {
    ({ database, close } = await openMigratedDatabase());
  });

  afterAll(async () => {
    await close();
  });

  beforeEach(() => {
    counter += 1;
  });

  /** An agent id of `length` characters, distinct per test and per `n`. */
  const agentId = (n: number | string, length = 20) => {
    const id = `t${counter}-${n}-`;
    return id + 'a'.repeat(Math.max(0, length - id.length));
  };

  /** Registers `id` directly in the database, as another instance's admin write would. */
  async function insertAgentBehindTheCache(id: string): Promise<void> {
    await database.prisma.agent.create({
      data: {
        id,
        name: id,
        tokenEndpointAuthMethod: 'client_secret_basic',
        allowedScopes: [],
        allowedAudiences: [],
        grantTypes: [],
        maxDelegationDepth: 4,
        tokenTtlSeconds: 300,
      },
    });
  }

  it('reads again once the TTL has passed', async () => {
    const registry = new Registry(database.prisma, { ttlMs: 100 });
    const id = agentId('ttl');
    expect(await registry.getAgent(id)).toBeNull();
    await insertAgentBehindTheCache(id);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect((await registry.getAgent(id))?.id).toBe(id);
  });

  it('drops everything on invalidate()', async () => {
    const registry = new Registry(database.prisma, { ttlMs: LONG_TTL_MS });
    const id = agentId('invalidate');
    expect(await registry.getAgent(id)).toBeNull();
    await insertAgentBehindTheCache(id);
    registry.invalidate();
    expect((await registry.getAgent(id))?.id).toBe(id);
  });

  it('evicts the least recently used entry once the entry bound is reached', async () => {
    const registry = new Registry(database.prisma, { ttlMs: LONG_TTL_MS, maxEntries: 3 });
    const first = agentId('first');
    expect(await registry.getAgent(first)).toBeNull();
    await insertAgentBehindTheCache(first);
    await registry.getAgent(agentId(1));
    await registry.getAgent(agentId(2));
    expect(await registry.getAgent(first), 'still one of the last three').toBeNull();
    await registry.getAgent(agentId(3));
    await registry.getAgent(agentId(4));
    await registry.getAgent(agentId(5));
    expect((await registry.getAgent(first))?.id, 'evicted, so read again').toBe(first);
  });

  it('evicts by size: long ids fill it sooner than the entry bound', async () => {
    // Each 200-character miss counts about 270 towards the size bound: seven fit in 2,000.
    const registry = new Registry(database.prisma, { ttlMs: LONG_TTL_MS, maxSize: 2_000 });
    const first = agentId('first', 200);
    expect(await registry.getAgent(first)).toBeNull();
    await insertAgentBehindTheCache(first);
    for (let n = 0; n < 4; n += 1) await registry.getAgent(agentId(n, 200));
    expect(await registry.getAgent(first), 'five entries fit').toBeNull();
    for (let n = 4; n < 12; n += 1) await registry.getAgent(agentId(n, 200));
    expect((await registry.getAgent(first))?.id, 'evicted by size').toBe(first);
  });

  it('answers ids, issuers and resources of impossible shapes without reading the database', async () => {
    // Rows the admin API would never write: a registry that read them would find them.
    const longAgent = agentId('long', 201);
    const spacedAgent = `t${counter} spaced`;
    const longIssuer = `https://${'i'.repeat(2000)}.example`;
    const longResource = `https://${'r'.repeat(500)}.example`;
    await insertAgentBehindTheCache(longAgent);
    await insertAgentBehindTheCache(spacedAgent);
    await database.prisma.trustedIssuer.create({
      data: { id: `ti-${counter}`, issuer: longIssuer, jwks: { keys: [] }, audiences: [] },
    });
    await database.prisma.resource.create({ data: { id: longResource, scopes: [] } });
    const registry = new Registry(database.prisma);
    expect(await registry.getAgent(longAgent)).toBeNull();
    expect(await registry.getAgent(spacedAgent)).toBeNull();
    expect(await registry.getAgents([longAgent, spacedAgent])).toEqual(new Map());
    expect(await registry.getTrustedIssuer(longIssuer)).toBeNull();
    expect(await registry.getAudience(longResource)).toBeNull();
    expect(await registry.agentIdsAmong([longAgent, spacedAgent, ''])).toEqual([]);
  });

  it('looks up only values that can name an agent among a token audience', async () => {
    const registry = new Registry(database.prisma);
    const id = agentId('among');
    await insertAgentBehindTheCache(id);
    expect(await registry.agentIdsAmong([id, 'b'.repeat(50_000), id, 'https://x.example/?q'])).toEqual([id]);
  });
});
