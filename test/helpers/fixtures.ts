/**
 * Registers agents, resources and trusted issuers through the admin API (CONTRACT §4), as an
 * operator would, and changes their state the same way. Every helper fails the test when the API
 * does not answer as the contract says.
 */
import { randomBytes } from 'node:crypto';
import type { JSONWebKeySet } from 'jose';
import type { ServiceAddress, TestServer } from './server.js';

export type AuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';

export interface AgentInput {
  readonly id: string;
  readonly name?: string;
  /** Defaults to client_secret_basic. */
  readonly tokenEndpointAuthMethod?: AuthMethod;
  readonly jwks?: JSONWebKeySet;
  readonly jwksUri?: string;
  readonly allowedScopes?: readonly string[];
  readonly allowedAudiences?: readonly string[];
  readonly grantTypes?: readonly string[];
  readonly maxDelegationDepth?: number;
  readonly tokenTtlSeconds?: number;
  readonly mayImpersonate?: boolean;
  readonly dpopBoundAccessTokens?: boolean;
}

export interface RegisteredAgent {
  readonly id: string;
  readonly tokenEndpointAuthMethod: AuthMethod;
  /** Present for the secret methods: shown once by the admin API. */
  readonly clientSecret?: string;
}

export interface ResourceInput {
  readonly id: string;
  readonly name?: string;
  readonly scopes: readonly string[];
}

export interface TrustedIssuerInput {
  readonly issuer: string;
  readonly jwks?: JSONWebKeySet;
  readonly jwksUri?: string;
  readonly audiences: readonly string[];
  readonly scopeClaim?: 'scope' | 'scp';
  readonly maxDelegationDepth?: number;
}

/** A short random suffix, so ids never collide with another file's in a shared Redis. */
export function uniqueSuffix(): string {
  return randomBytes(4).toString('hex');
}

interface AdminResponse {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

async function admin(
  server: ServiceAddress,
  method: string,
  path: string,
  expected: number | readonly number[],
  body?: unknown,
): Promise<AdminResponse> {
  const response = await fetch(server.baseUrl + path, {
    method,
    headers: {
      authorization: `Bearer ${server.adminToken}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  const parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  if (!(typeof expected === 'number' ? [expected] : expected).includes(response.status)) {
    throw new Error(`${method} ${path}: expected ${String(expected)}, got ${response.status} ${text}`);
  }
  return { status: response.status, body: parsed };
}

const path = (collection: string, id: string, action = '') =>
  `/admin/${collection}/${encodeURIComponent(id)}${action}`;

export async function registerAgent(server: ServiceAddress, input: AgentInput): Promise<RegisteredAgent> {
  const method = input.tokenEndpointAuthMethod ?? 'client_secret_basic';
  const response = await admin(server, 'POST', '/admin/agents', 201, {
    name: input.name ?? input.id,
    ...input,
    tokenEndpointAuthMethod: method,
  });
  const clientSecret = response.body.clientSecret;
  if (method !== 'private_key_jwt' && typeof clientSecret !== 'string') {
    throw new Error(`POST /admin/agents ${input.id}: no clientSecret in the response`);
  }
  return {
    id: String(response.body.id),
    tokenEndpointAuthMethod: method,
    ...(typeof clientSecret === 'string' ? { clientSecret } : {}),
  };
}

export async function registerResource(server: ServiceAddress, input: ResourceInput): Promise<void> {
  await admin(server, 'POST', '/admin/resources', 201, { name: input.name ?? input.id, ...input });
}

export async function registerTrustedIssuer(
  server: TestServer,
  input: TrustedIssuerInput,
): Promise<{ id: string }> {
  const response = await admin(server, 'POST', '/admin/trusted-issuers', 201, input);
  return { id: String(response.body.id) };
}

/** DELETE /admin/trusted-issuers/{id}. */
export async function deleteTrustedIssuer(server: TestServer, id: string): Promise<void> {
  await admin(server, 'DELETE', path('trusted-issuers', id), [200, 204]);
}

/** POST /admin/agents/{id}/disable. */
export async function disableAgent(server: TestServer, id: string): Promise<void> {
  await admin(server, 'POST', path('agents', id, '/disable'), [200, 204]);
}

/** POST /admin/agents/{id}/enable. */
export async function enableAgent(server: TestServer, id: string): Promise<void> {
  await admin(server, 'POST', path('agents', id, '/enable'), [200, 204]);
}

/** DELETE /admin/agents/{id}: the agent stays as a tombstone. */
export async function deleteAgent(server: TestServer, id: string): Promise<void> {
  await admin(server, 'DELETE', path('agents', id), [200, 204]);
}
