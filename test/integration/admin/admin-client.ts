/**
 * A small admin API client for the admin tests: real HTTP against the running server, and the
 * assertions every refusal shares (RFC 9457 problem document, stable code, no caching).
 */
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { expect } from 'vitest';
import { signAccessToken } from '../../../src/protocol/mint.js';
import type { TestServer } from '../../helpers/server.js';

export interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers, asserted field by field
  readonly body: any;
  readonly text: string;
}

async function toResponse(response: Response): Promise<ApiResponse> {
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  return { status: response.status, headers: response.headers, body, text };
}

/** Sends `body` as JSON, or as-is when it is a string (for malformed and oversized bodies). */
export function adminApi(server: TestServer, token: string | null = server.adminToken) {
  async function call(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiResponse> {
    const response = await fetch(server.baseUrl + path, {
      method,
      headers: {
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    return toResponse(response);
  }
  return {
    call,
    get: (path: string) => call('GET', path),
    post: (path: string, body?: unknown) => call('POST', path, body),
    patch: (path: string, body: unknown) => call('PATCH', path, body),
    delete: (path: string) => call('DELETE', path),
  };
}

export type AdminApi = ReturnType<typeof adminApi>;

/** RFC 9457 §3: every admin error is a problem document with this service's stable `code`. */
export function expectProblem(response: ApiResponse, status: number, code: string): void {
  expect({ status: response.status, code: response.body?.code }).toEqual({ status, code });
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(response.headers.get('cache-control')).toBe('no-store');
  expect(response.body).toMatchObject({
    type: `https://agent-sts.dev/problems/${code}`,
    title: expect.any(String),
    status,
    code,
  });
}

/**
 * `grant_type=client_credentials` as an agent would ask, authenticating the way the agent is
 * registered (`client_secret_basic` unless said otherwise; the methods are not interchangeable).
 */
export async function clientCredentials(
  server: TestServer,
  clientId: string,
  clientSecret: string,
  audience: string,
  method: 'client_secret_basic' | 'client_secret_post' = 'client_secret_basic',
): Promise<ApiResponse> {
  const form = new URLSearchParams({ grant_type: 'client_credentials', audience });
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (method === 'client_secret_post') {
    form.set('client_id', clientId);
    form.set('client_secret', clientSecret);
  } else {
    // RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined and encoded.
    const credentials = `${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`;
    headers.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
  }
  const response = await fetch(`${server.baseUrl}/token`, { method: 'POST', headers, body: form.toString() });
  return toResponse(response);
}

/**
 * Registers an agent that may obtain admin tokens: the issuer among its audiences and `sts:admin`
 * among its scopes (CONTRACT §4), plus whatever `extra` adds. Answers the 201 with its secret.
 */
export async function registerOperator(
  server: TestServer,
  id: string,
  extra: { allowedScopes?: string[]; allowedAudiences?: string[] } = {},
): Promise<ApiResponse> {
  const created = await adminApi(server).post('/admin/agents', {
    id,
    name: id,
    allowedScopes: ['sts:admin', ...(extra.allowedScopes ?? [])],
    allowedAudiences: [server.config.issuer, ...(extra.allowedAudiences ?? [])],
  });
  expect(created.status, created.text).toBe(201);
  return created;
}

export function path(collection: string, id: string, action?: string): string {
  return `/admin/${collection}/${encodeURIComponent(id)}${action ? `/${action}` : ''}`;
}

export function uniqueId(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** A fresh EC P-256 public JWK, as an agent using private_key_jwt would register it. */
export async function publicJwk(): Promise<JWK> {
  const { publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { ...(await exportJWK(publicKey)), kid: randomUUID(), alg: 'ES256', use: 'sig' };
}

/** A private JWK (with `d`), which must never be accepted as a registered key. */
export async function privateJwk(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: 'ES256' };
}

/**
 * An access token of this service signed with its active key, as the token endpoint would mint
 * it, and (unless `record` is false) recorded in the lineage. Lets the tests give a token any
 * audience and scope, including the issuer audience the token endpoint may not serve yet.
 */
export async function mintServiceToken(
  server: TestServer,
  claims: { clientId: string; aud: string; scope: string; expiresIn?: number; record?: boolean },
): Promise<{ token: string; jti: string }> {
  const now = Math.floor(Date.now() / 1000);
  const jti = randomUUID();
  const txn = randomUUID();
  const exp = now + (claims.expiresIn ?? 300);
  const token = await signAccessToken(server.app.sts.keys().active, {
    iss: server.config.issuer,
    sub: claims.clientId,
    aud: claims.aud,
    client_id: claims.clientId,
    scope: claims.scope,
    txn,
    jti,
    iat: now - 1,
    nbf: now - 1,
    exp,
  });
  if (claims.record !== false) {
    await server.app.sts.lineage.recordIssuance(
      {
        jti,
        parentJti: null,
        txn,
        depth: 0,
        sub: claims.clientId,
        clientId: claims.clientId,
        chainAgents: [claims.clientId],
        aud: claims.aud,
        scope: claims.scope,
        grantType: 'client_credentials',
        impersonation: false,
        subjectIsAgent: true,
        depthLimit: null,
        rootIssuer: null,
        jkt: null,
        issuedAt: new Date((now - 1) * 1000),
        expiresAt: new Date(exp * 1000),
      },
      { decision: 'granted', rule: 'granted', clientId: claims.clientId, jti, txn },
    );
  }
  return { token, jti };
}
