/**
 * The world the SDK tests run in: a real agent-sts with one resource (a calendar API) and three
 * agents that can build chains of depth 0, 1 and 2 towards it, plus tokens signed with the
 * server's own key for the cases no grant would issue (another `typ`, several audiences, ...).
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { expect } from 'vitest';
import { dpopProof, generateDpopKey, requestTokenWithProof, type DpopKey } from '../../helpers/dpop.js';
import { registerAgent, registerResource, uniqueSuffix } from '../../helpers/fixtures.js';
import { agentToken, exchange, generateSigningKey, type TestAgent } from '../../helpers/oauth.js';
import type { TestServer } from '../../helpers/server.js';

export const SCOPES = ['calendar.read', 'calendar.write'];

export async function registerWorld(server: TestServer) {
  const suffix = uniqueSuffix();
  const calendar = `https://calendar-${suffix}.example/api`;
  const ids = { a: `agent-a-${suffix}`, b: `agent-b-${suffix}`, c: `agent-c-${suffix}` };
  await registerResource(server, { id: calendar, scopes: SCOPES });
  const register = (id: string, audiences: string[]): Promise<TestAgent> =>
    registerAgent(server, { id, allowedScopes: SCOPES, allowedAudiences: audiences });
  const agentA = await register(ids.a, [calendar, ids.b]);
  const agentB = await register(ids.b, [calendar, ids.c]);
  const agentC = await register(ids.c, [calendar]);

  /** A's own token for the calendar: depth 0. */
  const hop0 = async (scope = SCOPES.join(' ')) =>
    (await agentToken(server, agentA, { audience: calendar, scope })).token;
  /** A → B → calendar: depth 1. */
  const hop1 = async () => {
    const forB = (await agentToken(server, agentA, { audience: ids.b })).token;
    return (await exchange(server, agentB, { subject_token: forB, audience: calendar })).token;
  };
  /** A → B → C → calendar: depth 2. */
  const hop2 = async () => {
    const forB = (await agentToken(server, agentA, { audience: ids.b })).token;
    const forC = (await exchange(server, agentB, { subject_token: forB, audience: ids.c })).token;
    return (await exchange(server, agentC, { subject_token: forC, audience: calendar })).token;
  };
  /** A's own token for the calendar, bound to a new DPoP key. */
  const boundHop0 = async (): Promise<{ token: string; key: DpopKey }> => {
    const key = await generateDpopKey();
    const response = await requestTokenWithProof(
      server,
      agentA,
      { grant_type: 'client_credentials', audience: calendar },
      await dpopProof(server, key),
    );
    expect(response.status, response.text).toBe(200);
    expect(response.body.token_type).toBe('DPoP');
    return { token: response.body.access_token as string, key };
  };
  return { calendar, ids, agentA, agentB, agentC, hop0, hop1, hop2, boundHop0 };
}

/** A token signed with the server's active key: any header, any claims. */
export async function signWithServerKey(
  server: TestServer,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
): Promise<string> {
  const key = server.app.sts.keys().active;
  const now = Math.floor(Date.now() / 1000);
  const payload = {
    iss: server.config.issuer,
    sub: 'agent-x',
    client_id: 'agent-x',
    scope: 'calendar.read',
    jti: randomUUID(),
    txn: randomUUID(),
    iat: now - 1,
    nbf: now - 1,
    exp: now + 300,
    ...claims,
  };
  for (const [name, value] of Object.entries(payload)) {
    if (value === undefined) delete (payload as Record<string, unknown>)[name];
  }
  return new SignJWT(payload as JWTPayload)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...header })
    .sign(key.privateKey);
}

/** An agent that authenticates with `private_key_jwt`, and the key it signs its assertions with. */
export async function registerKeyAgent(
  server: TestServer,
  id: string,
  allowedAudiences: string[],
): Promise<{ id: string; privateKey: CryptoKey; kid: string }> {
  const { privateKey, publicJwk, kid } = await generateSigningKey();
  await registerAgent(server, {
    id,
    tokenEndpointAuthMethod: 'private_key_jwt',
    jwks: { keys: [publicJwk] },
    allowedScopes: SCOPES,
    allowedAudiences,
  });
  return { id, privateKey, kid };
}
