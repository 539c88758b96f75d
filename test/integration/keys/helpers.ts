/**
 * Shared set-up of the signing-key tests: the JWKS and the admin key list as clients see them,
 * and a two-agent chain whose tokens show which key signed them.
 */
import type { JSONWebKeySet } from 'jose';
import { expect } from 'vitest';
import { registerAgent, registerResource, uniqueSuffix } from '../../helpers/fixtures.js';
import { agentToken, decodeProtectedHeader, type TestAgent } from '../../helpers/oauth.js';
import type { TestServer } from '../../helpers/server.js';
import { adminApi } from '../admin/admin-client.js';

export const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];
/** RETIRED_KEY_GRACE_SECONDS in app.ts: the longest token lifetime plus the JWKS cache margin. */
export const GRACE_SECONDS = 3600 + 600;

export interface KeyView {
  kid: string;
  alg: string;
  state: 'next' | 'active' | 'retired' | 'revoked';
  published: boolean;
  createdAt: string;
  activatesAt: string | null;
  activatedAt: string | null;
  retiredAt: string | null;
  revokedAt: string | null;
  publicJwk: Record<string, unknown>;
}

export async function jwks(
  server: TestServer,
): Promise<{ keys: JSONWebKeySet['keys']; cacheControl: string | null }> {
  const response = await fetch(`${server.baseUrl}/jwks`);
  expect(response.status).toBe(200);
  const body = (await response.json()) as JSONWebKeySet;
  return { keys: body.keys, cacheControl: response.headers.get('cache-control') };
}

export async function publishedKids(server: TestServer): Promise<string[]> {
  return (await jwks(server)).keys.map((key) => String(key.kid));
}

export async function listKeys(server: TestServer): Promise<KeyView[]> {
  const response = await adminApi(server).get('/admin/keys');
  expect(response.status, response.text).toBe(200);
  return response.body.items as KeyView[];
}

export async function rotate(server: TestServer): Promise<KeyView> {
  const response = await adminApi(server).post('/admin/keys/rotate');
  expect(response.status, response.text).toBe(201);
  expect(response.headers.get('cache-control')).toBe('no-store');
  return response.body as KeyView;
}

export function kidOf(token: string): string {
  return String(decodeProtectedHeader(token).kid);
}

/** Agent A gets tokens addressed to agent B; B exchanges them for the resource. */
export async function registerChain(server: TestServer) {
  const suffix = uniqueSuffix();
  const resource = `https://calendar-${suffix}.example/api`;
  const idB = `agent-b-${suffix}`;
  await registerResource(server, { id: resource, scopes: ['calendar.read'] });
  const agentB: TestAgent = await registerAgent(server, {
    id: idB,
    allowedScopes: ['calendar.read'],
    allowedAudiences: [resource],
  });
  const agentA: TestAgent = await registerAgent(server, {
    id: `agent-a-${suffix}`,
    allowedScopes: ['calendar.read'],
    allowedAudiences: [idB],
  });
  const tokenForB = async () => (await agentToken(server, agentA, { audience: idB })).token;
  return { resource, idB, agentA, agentB, tokenForB };
}

export type Chain = Awaited<ReturnType<typeof registerChain>>;
