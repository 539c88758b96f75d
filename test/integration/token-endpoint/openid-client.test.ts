/**
 * A real OAuth client library (openid-client v6) against the service: discovery, a
 * `private_key_jwt` client, one token-exchange hop, DPoP-bound tokens and the library's view of a
 * refusal.
 */
import { calculateJwkThumbprint, exportJWK } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  registerAgent,
  registerResource,
  registerTrustedIssuer,
  uniqueSuffix,
} from '../../helpers/fixtures.js';
import {
  createExternalIssuer,
  GRANT_TOKEN_EXCHANGE,
  generateSigningKey,
  snapshot,
  TOKEN_TYPE_ACCESS_TOKEN,
  verifyAsResourceServer,
  type ExternalIssuer,
} from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

const suffix = uniqueSuffix();
const RESOURCE = `https://tickets-${suffix}.example/api`;
const AGENT = `oc-agent-${suffix}`;

let server: TestServer;
let idp: ExternalIssuer;
let config: client.Configuration;

beforeAll(async () => {
  server = await startTestServer();
  idp = await createExternalIssuer(`https://idp-${suffix}.example`);
  await registerTrustedIssuer(server, {
    issuer: idp.issuer,
    jwks: idp.jwks,
    audiences: [`https://sts-${suffix}.example`],
  });
  await registerResource(server, { id: RESOURCE, scopes: ['tickets.read', 'tickets.write'] });
  const key = await generateSigningKey();
  await registerAgent(server, {
    id: AGENT,
    tokenEndpointAuthMethod: 'private_key_jwt',
    jwks: { keys: [key.publicJwk] },
    allowedScopes: ['tickets.read'],
    allowedAudiences: [RESOURCE],
  });
  config = await client.discovery(
    new URL(server.baseUrl),
    AGENT,
    { token_endpoint_auth_method: 'private_key_jwt' },
    client.PrivateKeyJwt({ key: key.privateKey, kid: key.kid }),
    { execute: [client.allowInsecureRequests] },
  );
});

afterAll(async () => {
  await server?.close();
});

describe('openid-client', () => {
  it('discovers the token endpoint and exchanges a user token with private_key_jwt', async () => {
    const metadata = config.serverMetadata();
    expect(metadata.issuer).toBe(server.baseUrl);
    expect(metadata.grant_types_supported).toEqual(
      expect.arrayContaining(['client_credentials', GRANT_TOKEN_EXCHANGE]),
    );
    expect(metadata.token_endpoint_auth_methods_supported).toEqual(
      expect.arrayContaining(['client_secret_basic', 'client_secret_post', 'private_key_jwt']),
    );

    const userToken = await idp.sign({ sub: 'alice', aud: AGENT, scope: 'tickets.read tickets.write' });
    const response = await client.genericGrantRequest(config, GRANT_TOKEN_EXCHANGE, {
      subject_token: userToken,
      subject_token_type: TOKEN_TYPE_ACCESS_TOKEN,
      audience: RESOURCE,
    });
    // openid-client normalises token_type to lower case.
    expect(response.token_type).toBe('bearer');
    expect(response.issued_token_type).toBe(TOKEN_TYPE_ACCESS_TOKEN);
    expect(response.scope).toBe('tickets.read');
    expect(response.refresh_token).toBeUndefined();
    const claims = await verifyAsResourceServer(server, response.access_token, RESOURCE);
    expect(claims).toMatchObject({
      sub: 'alice',
      client_id: AGENT,
      act: { sub: AGENT },
      scope: 'tickets.read',
    });
  });

  it('gets the agent its own token with client_credentials', async () => {
    const response = await client.clientCredentialsGrant(config, { audience: RESOURCE });
    const claims = await verifyAsResourceServer(server, response.access_token, RESOURCE);
    expect(claims).toMatchObject({ sub: AGENT, client_id: AGENT, scope: 'tickets.read' });
    expect(claims).not.toHaveProperty('act');
  });

  it("gets DPoP-bound tokens through the library's own DPoP support (RFC 9449)", async () => {
    const keyPair = await client.randomDPoPKeyPair('ES256');
    const jkt = await calculateJwkThumbprint(await exportJWK(keyPair.publicKey));
    const DPoP = client.getDPoPHandle(config, keyPair);
    const own = await client.clientCredentialsGrant(config, { audience: RESOURCE }, { DPoP });
    expect(own.token_type).toBe('dpop');
    expect((await verifyAsResourceServer(server, own.access_token, RESOURCE)).cnf).toEqual({ jkt });

    const userToken = await idp.sign({ sub: 'alice', aud: AGENT, scope: 'tickets.read' });
    const hop = await client.genericGrantRequest(
      config,
      GRANT_TOKEN_EXCHANGE,
      { subject_token: userToken, subject_token_type: TOKEN_TYPE_ACCESS_TOKEN, audience: RESOURCE },
      { DPoP },
    );
    expect(hop.token_type).toBe('dpop');
    expect((await verifyAsResourceServer(server, hop.access_token, RESOURCE)).cnf).toEqual({ jkt });
  });

  it('surfaces a refusal as an OAuth error the library understands', async () => {
    const before = await snapshot(server);
    const misaddressed = await idp.sign({ sub: 'alice', aud: 'someone-else', scope: 'tickets.read' });
    const failure = await client
      .genericGrantRequest(config, GRANT_TOKEN_EXCHANGE, {
        subject_token: misaddressed,
        subject_token_type: TOKEN_TYPE_ACCESS_TOKEN,
        audience: RESOURCE,
      })
      .then(
        () => null,
        (error: unknown) => error,
      );
    expect(failure).toBeInstanceOf(client.ResponseBodyError);
    const error = failure as client.ResponseBodyError;
    expect(error.error).toBe('invalid_request');
    expect(error.status).toBe(400);
    expect(error.response.headers.get('cache-control')).toBe('no-store');
    const rows = await server.database.prisma.auditEvent.findMany({
      where: { id: { gt: before.lastAuditId } },
    });
    expect(rows.map((row) => row.rule)).toEqual(['subject_token_wrong_audience']);
    expect(await server.database.prisma.issuedToken.count()).toBe(before.issuedTokens);
    // The control request right after still succeeds.
    expect((await client.clientCredentialsGrant(config, { audience: RESOURCE })).access_token).toEqual(
      expect.any(String),
    );
  });
});
