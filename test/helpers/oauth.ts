/**
 * Talks to the token endpoint as real clients do (form posts over HTTP, client secrets or
 * `private_key_jwt` assertions) and checks refusals the way SECURITY-CASES.md asks: status, error
 * code, no token, `Cache-Control: no-store`, a clean one-line description, the audit row naming
 * the rule, nothing issued, and a valid control request that still succeeds afterwards.
 */
import { randomUUID } from 'node:crypto';
import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';
import { expect } from 'vitest';
import type { RegisteredAgent } from './fixtures.js';
import type { ServiceAddress, TestServer } from './server.js';

export const GRANT_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const TOKEN_TYPE_ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
export const TOKEN_TYPE_JWT = 'urn:ietf:params:oauth:token-type:jwt';
export const TOKEN_TYPE_ID_TOKEN = 'urn:ietf:params:oauth:token-type:id_token';
export const TOKEN_TYPE_REFRESH_TOKEN = 'urn:ietf:params:oauth:token-type:refresh_token';
export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** Form fields; an array repeats the parameter. */
export type Form = Readonly<Record<string, string | readonly string[]>>;

export interface TokenResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
  readonly text: string;
}

/** An agent the tests can authenticate as: its secret, or its private key for `private_key_jwt`. */
export interface TestAgent extends RegisteredAgent {
  readonly privateKey?: CryptoKey;
  readonly kid?: string;
}

export function encodeForm(form: Form): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(form)) {
    for (const item of typeof value === 'string' ? [value] : value) params.append(name, item);
  }
  return params.toString();
}

/** POSTs a raw form body to the token endpoint. */
export async function postToken(
  server: ServiceAddress,
  body: Form | string,
  headers: Readonly<Record<string, string>> = {},
): Promise<TokenResponse> {
  const response = await fetch(`${server.baseUrl}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
    body: typeof body === 'string' ? body : encodeForm(body),
  });
  const text = await response.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Not JSON: the assertions on the body will say so.
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}

/** RFC 6749 §2.3.1: both halves are form-urlencoded before base64. */
export function basicAuthorization(clientId: string, secret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return 'Basic ' + Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64');
}

/** A P-256 key pair for `private_key_jwt` agents and external issuers; the public JWK carries kid/alg/use. */
export async function generateSigningKey(
  alg = 'ES256',
): Promise<{ privateKey: CryptoKey; publicKey: CryptoKey; publicJwk: JWK; kid: string }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = randomUUID();
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { privateKey, publicKey, publicJwk, kid };
}

export interface AssertionOptions {
  readonly header?: Record<string, unknown>;
  /** Claims to set or override; `undefined` removes a claim. */
  readonly claims?: Record<string, unknown>;
  readonly key?: CryptoKey | Uint8Array;
  readonly alg?: string;
}

/** An RFC 7523 client assertion for `agent`, valid by default for 60 s. */
export async function clientAssertion(
  server: ServiceAddress,
  agent: TestAgent,
  options: AssertionOptions = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    iss: agent.id,
    sub: agent.id,
    aud: server.baseUrl,
    jti: randomUUID(),
    iat: now,
    exp: now + 60,
    ...options.claims,
  };
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
  const key = options.key ?? agent.privateKey;
  if (!key) throw new Error(`${agent.id} has no private key`);
  return new SignJWT(claims as JWTPayload)
    .setProtectedHeader({ alg: options.alg ?? 'ES256', kid: agent.kid, ...options.header })
    .sign(key);
}

/** The request parts that authenticate `agent` with its registered method. */
export async function credentials(
  server: ServiceAddress,
  agent: TestAgent,
): Promise<{ headers: Record<string, string>; fields: Record<string, string> }> {
  switch (agent.tokenEndpointAuthMethod) {
    case 'client_secret_basic':
      return {
        headers: { authorization: basicAuthorization(agent.id, agent.clientSecret ?? '') },
        fields: {},
      };
    case 'client_secret_post':
      return { headers: {}, fields: { client_id: agent.id, client_secret: agent.clientSecret ?? '' } };
    case 'private_key_jwt':
      return {
        headers: {},
        fields: {
          client_assertion_type: CLIENT_ASSERTION_TYPE,
          client_assertion: await clientAssertion(server, agent),
        },
      };
  }
}

/** A token request authenticated as `agent`. */
export async function requestToken(
  server: ServiceAddress,
  agent: TestAgent,
  form: Form,
): Promise<TokenResponse> {
  const { headers, fields } = await credentials(server, agent);
  return postToken(server, { ...fields, ...form }, headers);
}

function expectIssued(response: TokenResponse): string {
  if (response.status !== 200) throw new Error(`expected 200, got ${response.status} ${response.text}`);
  expect(typeof response.body.access_token).toBe('string');
  return response.body.access_token as string;
}

/** client_credentials for `agent`; fails the test unless a token is issued. */
export async function agentToken(
  server: ServiceAddress,
  agent: TestAgent,
  params: Form = {},
): Promise<{ token: string; claims: JWTPayload; response: TokenResponse }> {
  const response = await requestToken(server, agent, { grant_type: 'client_credentials', ...params });
  const token = expectIssued(response);
  return { token, claims: decodeJwt(token), response };
}

/** One token-exchange hop; `params` must hold at least the subject token. */
export function exchangeRequest(
  server: ServiceAddress,
  agent: TestAgent,
  params: Form,
): Promise<TokenResponse> {
  return requestToken(server, agent, {
    grant_type: GRANT_TOKEN_EXCHANGE,
    subject_token_type: TOKEN_TYPE_ACCESS_TOKEN,
    ...params,
  });
}

/** One token-exchange hop; fails the test unless a token is issued. */
export async function exchange(
  server: ServiceAddress,
  agent: TestAgent,
  params: Form,
): Promise<{ token: string; claims: JWTPayload; response: TokenResponse }> {
  const response = await exchangeRequest(server, agent, params);
  const token = expectIssued(response);
  return { token, claims: decodeJwt(token), response };
}

const remoteKeySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

/** What a resource server does: verify against the published JWKS, issuer, audience and `typ`. */
export async function verifyAsResourceServer(
  server: ServiceAddress,
  token: string,
  audience: string,
): Promise<JWTPayload> {
  let keys = remoteKeySets.get(server.baseUrl);
  if (!keys) {
    keys = createRemoteJWKSet(new URL(`${server.baseUrl}/jwks`));
    remoteKeySets.set(server.baseUrl, keys);
  }
  const { payload, protectedHeader } = await jwtVerify(token, keys, {
    issuer: server.baseUrl,
    audience,
    typ: 'at+jwt',
    algorithms: ['ES256'],
  });
  expect(protectedHeader.typ).toBe('at+jwt');
  return payload;
}

export { decodeJwt, decodeProtectedHeader };

/** What the database holds before a request, so a refusal can be shown to change nothing. */
export interface Snapshot {
  readonly issuedTokens: number;
  readonly lastAuditId: bigint;
}

export async function snapshot(server: TestServer): Promise<Snapshot> {
  const prisma = server.database.prisma;
  const [issuedTokens, last] = await Promise.all([
    prisma.issuedToken.count(),
    prisma.auditEvent.findFirst({ orderBy: { id: 'desc' }, select: { id: true } }),
  ]);
  return { issuedTokens, lastAuditId: last?.id ?? 0n };
}

/** Audit rows written since `before`, oldest first. */
export async function auditSince(server: TestServer, before: Snapshot) {
  return server.database.prisma.auditEvent.findMany({
    where: { id: { gt: before.lastAuditId } },
    orderBy: { id: 'asc' },
  });
}

export interface ExpectedRefusal {
  readonly status: number;
  readonly error: string;
  /** The stable rule name the audit log records. */
  readonly rule: string;
  /** The request authenticated with HTTP Basic: a 401 must then carry `WWW-Authenticate: Basic`. */
  readonly basic?: boolean;
}

/** Checks one refused response against SECURITY-CASES.md's "every negative case" list. */
export async function expectRefusedResponse(
  server: TestServer,
  before: Snapshot,
  response: TokenResponse,
  expected: ExpectedRefusal,
): Promise<void> {
  const context = `${response.status} ${response.text}`;
  expect(response.status, context).toBe(expected.status);
  expect(response.body.error, context).toBe(expected.error);
  expect(response.body).not.toHaveProperty('access_token');
  expect(response.headers.get('cache-control')).toBe('no-store');
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const description = response.body.error_description;
  expect(typeof description).toBe('string');
  expect(description as string).not.toMatch(/[\r\n\t]/);
  // No stack traces, SQL or driver text.
  expect(response.text).not.toMatch(/\s+at\s+\S+\s+\(|prisma|select\s|postgres|node_modules/i);
  if (expected.status === 401 && expected.basic) {
    expect(response.headers.get('www-authenticate')).toMatch(/^Basic /);
  }

  const rows = await auditSince(server, before);
  expect(
    rows.map((row) => ({ decision: row.decision, rule: row.rule })),
    'exactly one audit row, naming the rule',
  ).toEqual([{ decision: 'denied', rule: expected.rule }]);
  expect(await server.database.prisma.issuedToken.count(), 'nothing issued').toBe(before.issuedTokens);
}

/**
 * Builds `expectRefusal(send, expected)`: sends one request, checks the refusal, then sends the
 * file's valid control request and checks that it still succeeds (OIDF pattern).
 */
export function refusalChecker(
  target: TestServer | (() => TestServer),
  control: () => Promise<TokenResponse>,
) {
  return async function expectRefusal(
    send: () => Promise<TokenResponse>,
    expected: ExpectedRefusal,
  ): Promise<TokenResponse> {
    // A getter follows a server that a test restarts.
    const server = typeof target === 'function' ? target() : target;
    const before = await snapshot(server);
    const response = await send();
    await expectRefusedResponse(server, before, response, expected);
    const after = await control();
    expect(after.status, `control request after the refusal: ${after.text}`).toBe(200);
    expect(typeof after.body.access_token).toBe('string');
    return response;
  };
}

/** An external identity provider: a key pair, its JWKS and a way to sign its tokens. */
export interface ExternalIssuer {
  readonly issuer: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly kid: string;
  readonly jwks: { keys: JWK[] };
  sign(
    claims: Record<string, unknown>,
    options?: { header?: Record<string, unknown>; ttl?: number },
  ): Promise<string>;
}

export async function createExternalIssuer(issuer: string): Promise<ExternalIssuer> {
  const { privateKey, publicKey, publicJwk, kid } = await generateSigningKey('ES256');
  return {
    issuer,
    privateKey,
    publicKey,
    kid,
    jwks: { keys: [publicJwk] },
    async sign(claims, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      const payload: Record<string, unknown> = {
        iss: issuer,
        iat: now,
        exp: now + (options.ttl ?? 600),
        jti: randomUUID(),
        ...claims,
      };
      for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
      return new SignJWT(payload as JWTPayload)
        .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt', ...options.header })
        .sign(privateKey);
    },
  };
}
