/**
 * Shared set-up of the introspection and revocation tests: calls to both endpoints as an agent
 * makes them, a user's token from an external IdP, and a three-hop chain user → A → B → C →
 * resource built through the real token endpoint.
 */
import { expect } from 'vitest';
import {
  registerAgent,
  registerResource,
  registerTrustedIssuer,
  uniqueSuffix,
} from '../../helpers/fixtures.js';
import {
  createExternalIssuer,
  credentials,
  encodeForm,
  exchange,
  generateSigningKey,
  type ExternalIssuer,
  type Form,
  type TestAgent,
  type TokenResponse,
} from '../../helpers/oauth.js';
import type { TestServer } from '../../helpers/server.js';

export const SCOPE = 'data.read';

/** POSTs a form to one of the two endpoints; `auth` adds the agent's credentials. */
export async function postForm(
  server: TestServer,
  path: '/token/introspection' | '/token/revocation',
  body: Form | string,
  headers: Readonly<Record<string, string>> = {},
): Promise<TokenResponse> {
  const response = await fetch(server.baseUrl + path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: typeof body === 'string' ? body : encodeForm(body),
  });
  const text = await response.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    // Not JSON: the assertions on the body will say so.
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}

async function asAgent(
  server: TestServer,
  path: '/token/introspection' | '/token/revocation',
  agent: TestAgent,
  form: Form,
): Promise<TokenResponse> {
  const { headers, fields } = await credentials(server, agent);
  return postForm(server, path, { ...fields, ...form }, headers);
}

export function introspect(server: TestServer, agent: TestAgent, token: string, form: Form = {}) {
  return asAgent(server, '/token/introspection', agent, { token, ...form });
}

export function revoke(server: TestServer, agent: TestAgent, token: string, form: Form = {}) {
  return asAgent(server, '/token/revocation', agent, { token, ...form });
}

/** Introspects and returns `active`, after checking the answer's shape and headers. */
export async function isActive(server: TestServer, agent: TestAgent, token: string): Promise<boolean> {
  const response = await introspect(server, agent, token);
  expect(response.status, response.text).toBe(200);
  expect(response.headers.get('cache-control')).toBe('no-store');
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  if (response.body.active === false) expect(response.body).toEqual({ active: false });
  return response.body.active === true;
}

/** An OAuth error answer of these endpoints: JSON, no-store, one clean line, no problem document. */
export function expectOAuthError(response: TokenResponse, status: number, error: string): void {
  const context = `${response.status} ${response.text}`;
  expect(response.status, context).toBe(status);
  expect(response.body.error, context).toBe(error);
  expect(typeof response.body.error_description).toBe('string');
  expect(response.body.error_description as string).not.toMatch(/[\r\n\t]/);
  expect(response.headers.get('cache-control')).toBe('no-store');
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  expect(response.body).not.toHaveProperty('active');
  expect(response.text).not.toMatch(/\s+at\s+\S+\s+\(|prisma|select\s|postgres|node_modules/i);
}

export interface World {
  readonly suffix: string;
  readonly resource: string;
  readonly idp: ExternalIssuer;
  readonly a: TestAgent;
  readonly b: TestAgent;
  readonly c: TestAgent;
  /** Allowed nothing in the chain: a bystander. */
  readonly stranger: TestAgent;
  /** Authenticates with private_key_jwt. */
  readonly keyAgent: TestAgent;
}

/** Registers the resource, the IdP and agents A → B → C → resource, plus a stranger and a key agent. */
export async function createWorld(server: TestServer): Promise<World> {
  const suffix = uniqueSuffix();
  const resource = `https://api-${suffix}.example/`;
  await registerResource(server, { id: resource, scopes: [SCOPE] });
  const idp = await createExternalIssuer(`https://idp-${suffix}.example`);
  await registerTrustedIssuer(server, {
    issuer: idp.issuer,
    jwks: idp.jwks,
    audiences: [`https://sts-${suffix}.example`],
  });
  const c = await registerAgent(server, {
    id: `ir-c-${suffix}`,
    tokenEndpointAuthMethod: 'client_secret_post',
    allowedScopes: [SCOPE],
    allowedAudiences: [resource],
  });
  const b = await registerAgent(server, {
    id: `ir-b-${suffix}`,
    allowedScopes: [SCOPE],
    allowedAudiences: [c.id],
  });
  const a = await registerAgent(server, {
    id: `ir-a-${suffix}`,
    allowedScopes: [SCOPE],
    allowedAudiences: [b.id, resource],
  });
  const stranger = await registerAgent(server, {
    id: `ir-stranger-${suffix}`,
    allowedScopes: [SCOPE],
    allowedAudiences: [resource],
  });
  const key = await generateSigningKey();
  const keyAgent: TestAgent = {
    ...(await registerAgent(server, {
      id: `ir-key-${suffix}`,
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwks: { keys: [key.publicJwk] },
      allowedScopes: [SCOPE],
      allowedAudiences: [a.id, resource],
    })),
    privateKey: key.privateKey,
    kid: key.kid,
  };
  return { suffix, resource, idp, a, b, c, stranger, keyAgent };
}

export interface Chain {
  readonly user: string;
  readonly hop1: string;
  readonly hop2: string;
  readonly hop3: string;
  readonly jtis: readonly [string, string, string];
  readonly txn: string;
}

/** alice → A → B → C → resource, through the token endpoint. */
export async function buildChain(server: TestServer, world: World, subject = 'alice'): Promise<Chain> {
  const user = await world.idp.sign({ sub: subject, aud: world.a.id, scope: SCOPE });
  const hop1 = await exchange(server, world.a, { subject_token: user, audience: world.b.id });
  const hop2 = await exchange(server, world.b, { subject_token: hop1.token, audience: world.c.id });
  const hop3 = await exchange(server, world.c, { subject_token: hop2.token, resource: world.resource });
  return {
    user,
    hop1: hop1.token,
    hop2: hop2.token,
    hop3: hop3.token,
    jtis: [hop1.claims.jti as string, hop2.claims.jti as string, hop3.claims.jti as string],
    txn: hop1.claims.txn as string,
  };
}
