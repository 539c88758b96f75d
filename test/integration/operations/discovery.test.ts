/**
 * Honest discovery metadata (RFC 8414 §2, CONTRACT §2): both well-known documents are the same,
 * they advertise exactly what this server serves, and every endpoint they name answers. Nothing
 * of the flows it does not offer (authorization endpoint, response types and modes, ID tokens,
 * the `openid` scope) is advertised, and their oidc-provider paths do not answer as if they worked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRANT_TOKEN_EXCHANGE } from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

let server: TestServer;
let metadata: Record<string, unknown>;

beforeAll(async () => {
  server = await startTestServer();
  const response = await fetch(`${server.baseUrl}/.well-known/oauth-authorization-server`);
  expect(response.status).toBe(200);
  metadata = (await response.json()) as Record<string, unknown>;
});

afterAll(async () => {
  await server?.close();
});

/** Members whose value is a URL this server serves; `issuer` is an identifier, not an endpoint. */
function endpointMembers(): [string, string][] {
  return Object.entries(metadata).filter(
    (entry): entry is [string, string] =>
      entry[0] !== 'issuer' && typeof entry[1] === 'string' && /^https?:\/\//.test(entry[1]),
  );
}

describe('discovery metadata', () => {
  it('serves the same document at both well-known paths', async () => {
    const openid = await fetch(`${server.baseUrl}/.well-known/openid-configuration`);
    expect(openid.status).toBe(200);
    expect(await openid.json()).toEqual(metadata);
  });

  it('advertises exactly the members of what is served', () => {
    expect(Object.keys(metadata).sort()).toEqual(
      [
        'issuer',
        'token_endpoint',
        'jwks_uri',
        'grant_types_supported',
        'token_endpoint_auth_methods_supported',
        'token_endpoint_auth_signing_alg_values_supported',
        'dpop_signing_alg_values_supported',
        'introspection_endpoint',
        'introspection_endpoint_auth_methods_supported',
        'introspection_endpoint_auth_signing_alg_values_supported',
        'revocation_endpoint',
        'revocation_endpoint_auth_methods_supported',
        'revocation_endpoint_auth_signing_alg_values_supported',
        'token_exchange_subject_token_types_supported',
        'token_exchange_actor_token_types_supported',
        'token_exchange_requested_token_types_supported',
        'security_event_poll_endpoint',
        'security_event_delivery_methods_supported',
        'security_event_types_supported',
        'identity_chaining_requested_token_types_supported',
      ].sort(),
    );
    expect(metadata.issuer).toBe(server.baseUrl);
    expect([...(metadata.grant_types_supported as string[])].sort()).toEqual(
      ['client_credentials', GRANT_TOKEN_EXCHANGE, 'urn:ietf:params:oauth:grant-type:jwt-bearer'].sort(),
    );
  });

  it.each([
    'authorization_endpoint',
    'response_types_supported',
    'response_modes_supported',
    'scopes_supported',
    'id_token_signing_alg_values_supported',
    'subject_types_supported',
    'claims_supported',
    'claims_parameter_supported',
    'code_challenge_methods_supported',
    'request_uri_parameter_supported',
    'authorization_response_iss_parameter_supported',
    'userinfo_endpoint',
    'end_session_endpoint',
    'registration_endpoint',
    'pushed_authorization_request_endpoint',
    'device_authorization_endpoint',
  ])('does not advertise %s, which belongs to a flow it does not offer', (member) => {
    expect(metadata).not.toHaveProperty(member);
  });

  it('names only endpoints under the issuer', () => {
    expect(
      endpointMembers()
        .map(([member]) => member)
        .sort(),
    ).toEqual(
      [
        'introspection_endpoint',
        'jwks_uri',
        'revocation_endpoint',
        'security_event_poll_endpoint',
        'token_endpoint',
      ].sort(),
    );
    for (const [, url] of endpointMembers()) expect(url.startsWith(`${server.baseUrl}/`)).toBe(true);
  });

  it('serves the signing keys at jwks_uri', async () => {
    const response = await fetch(metadata.jwks_uri as string);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toMatch(/max-age=\d+/);
    const { keys } = (await response.json()) as { keys: Record<string, unknown>[] };
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(key).toMatchObject({ use: 'sig', alg: 'ES256', kid: expect.any(String) });
      expect(key).not.toHaveProperty('d');
    }
  });

  it.each(['token_endpoint', 'introspection_endpoint', 'revocation_endpoint'])(
    'answers an empty POST to %s with an OAuth error, not 404',
    async (member) => {
      const response = await fetch(metadata[member] as string, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: '',
      });
      expect([400, 401]).toContain(response.status);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await response.json()) as Record<string, unknown>;
      expect(body.error).toMatch(/^(invalid_request|invalid_client)$/);
      expect(body).not.toHaveProperty('access_token');
    },
  );

  // oidc-provider's default paths of the endpoints that are not served.
  it.each([
    '/auth',
    '/me',
    '/session/end',
    '/reg',
    '/request',
    '/device',
    '/device/auth',
    '/backchannel',
    '/challenge',
  ])('does not serve %s', async (path) => {
    for (const method of ['GET', 'POST']) {
      const response = await fetch(`${server.baseUrl}${path}`, {
        method,
        ...(method === 'POST'
          ? { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'client_id=x' }
          : {}),
      });
      expect(response.status, `${method} ${path}`).toBe(404);
    }
  });
});
