/**
 * Removing a trusted issuer (say, a compromised IdP) ends every chain its tokens started: tokens
 * this service derived from them can no longer be exchanged, introspect as inactive, and a chain
 * started elsewhere is untouched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deleteTrustedIssuer,
  registerAgent,
  registerResource,
  registerTrustedIssuer,
  uniqueSuffix,
  type RegisteredAgent,
} from '../../helpers/fixtures.js';
import {
  agentToken,
  createExternalIssuer,
  exchange,
  exchangeRequest,
  refusalChecker,
  type ExternalIssuer,
} from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { isActive } from '../introspection-revocation/helpers.js';

const suffix = uniqueSuffix();
const RESOURCE = `https://api-${suffix}.example`;
let server: TestServer;
let idp: ExternalIssuer;
let issuerId: string;
let a: RegisteredAgent;
let b: RegisteredAgent;

beforeAll(async () => {
  server = await startTestServer();
  await registerResource(server, { id: RESOURCE, scopes: ['read'] });
  b = await registerAgent(server, {
    id: `tir-b-${suffix}`,
    allowedScopes: ['read'],
    allowedAudiences: [RESOURCE],
  });
  a = await registerAgent(server, {
    id: `tir-a-${suffix}`,
    allowedScopes: ['read'],
    allowedAudiences: [b.id],
  });
  idp = await createExternalIssuer(`https://idp-${suffix}.example`);
  issuerId = (
    await registerTrustedIssuer(server, {
      issuer: idp.issuer,
      jwks: idp.jwks,
      audiences: [`https://sts-${suffix}.example`],
    })
  ).id;
});

afterAll(async () => {
  await server?.close();
});

describe('removing a trusted issuer', () => {
  it('ends the chains its tokens started, and only those', async () => {
    const user = await idp.sign({ sub: 'mallory', aud: a.id, scope: 'read' });
    const hop1 = await exchange(server, a, { subject_token: user, audience: b.id });
    const ownChain = await agentToken(server, a, { audience: b.id });
    expect(await isActive(server, b, hop1.token)).toBe(true);

    await deleteTrustedIssuer(server, issuerId);

    const expectRefusal = refusalChecker(server, () =>
      exchangeRequest(server, b, { subject_token: ownChain.token, resource: RESOURCE }),
    );
    await expectRefusal(() => exchangeRequest(server, b, { subject_token: hop1.token, resource: RESOURCE }), {
      status: 400,
      error: 'invalid_request',
      rule: 'subject_token_invalid',
    });
    expect(await isActive(server, b, hop1.token)).toBe(false);
    expect(await isActive(server, b, ownChain.token)).toBe(true);
  });
});
