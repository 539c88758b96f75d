/**
 * Every URL the OAuth engine publishes or expects is built from ISSUER, never from the request's
 * Host or X-Forwarded-* headers, which the client controls (metadata poisoning; DPoP `htu` and
 * assertion audiences judged against an attacker's host).
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../helpers/server.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server?.close();
});

function getWithHeaders(
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  const url = new URL(path, server.baseUrl);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'GET', headers },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    outgoing.on('error', reject);
    outgoing.end();
  });
}

describe('issuer pinning', () => {
  it.each([
    ['a foreign Host header', { host: 'evil.example' }],
    ['X-Forwarded-Host and -Proto', { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' }],
    ['a Forwarded header', { forwarded: 'host=evil.example;proto=https' }],
  ])('publishes metadata built from ISSUER whatever %s says', async (_name, headers) => {
    for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
      const response = await getWithHeaders(path, headers);
      expect(response.status).toBe(200);
      const metadata = JSON.parse(response.body) as Record<string, unknown>;
      expect(metadata.issuer).toBe(server.config.issuer);
      expect(metadata.token_endpoint).toBe(`${server.config.issuer}/token`);
      expect(metadata.jwks_uri).toBe(`${server.config.issuer}/jwks`);
      expect(response.body).not.toContain('evil.example');
    }
  });
});
