/**
 * The guarded JWKS fetch over real sockets (SECURITY-CASES AD-06): every address a host resolves
 * to is checked before the connection is made, IP literals included; redirects and oversized
 * bodies are refused. The target is a plain HTTP server on 127.0.0.1 that counts connections, so
 * "refused" means no socket was ever opened to it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createJwksFetcher,
  JWKS_MAX_BYTES,
  JwksFetchRefused,
  type JwksFetcher,
  type JwksFetchRefusalCode,
} from '../../../src/protocol/jwks-fetch.js';

const JWKS = { keys: [] };

let server: Server;
let port: number;
let connections = 0;
const refusals: JwksFetchRefused[] = [];
let production: JwksFetcher;
let development: JwksFetcher;

beforeAll(async () => {
  server = createServer((request, response) => {
    if (request.url === '/redirect') {
      response.writeHead(302, { location: `http://127.0.0.1:${port}/jwks` }).end();
    } else if (request.url === '/large') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ keys: [], padding: 'x'.repeat(JWKS_MAX_BYTES) }));
    } else if (request.url === '/large-chunked') {
      // No content-length: the cap must hold while reading.
      response.writeHead(200, { 'content-type': 'application/json' });
      const chunk = 'x'.repeat(16 * 1024);
      for (let sent = 0; sent <= JWKS_MAX_BYTES; sent += chunk.length) response.write(chunk);
      response.end();
    } else {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(JWKS));
    }
  });
  server.on('connection', () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  production = createJwksFetcher({ allowLoopback: false, onRefused: (refusal) => refusals.push(refusal) });
  development = createJwksFetcher({ allowLoopback: true });
});

afterAll(async () => {
  await production?.close();
  await development?.close();
  server?.closeAllConnections();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
});

async function refusalOf(promise: Promise<unknown>): Promise<JwksFetchRefused> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(JwksFetchRefused);
  return error as JwksFetchRefused;
}

describe('outside development', () => {
  it.each<[string, () => string, JwksFetchRefusalCode]>([
    ['a DNS name that resolves to loopback', () => `https://localhost:${port}/jwks`, 'address_not_allowed'],
    ['a loopback IPv4 literal', () => `https://127.0.0.1:${port}/jwks`, 'address_not_allowed'],
    [
      'an IPv4-mapped loopback literal',
      () => `https://[::ffff:127.0.0.1]:${port}/jwks`,
      'address_not_allowed',
    ],
    ['the unspecified address', () => `https://0.0.0.0:${port}/jwks`, 'address_not_allowed'],
    ['plain http on loopback', () => `http://127.0.0.1:${port}/jwks`, 'url_not_allowed'],
  ])('refuses %s without opening a connection', async (_name, url, code) => {
    const before = connections;
    const refusalsBefore = refusals.length;
    const refusal = await refusalOf(production.fetch(url()));
    expect(refusal.code).toBe(code);
    expect(connections, 'no connection was opened').toBe(before);
    // Logged by host, never by path or query.
    expect(refusals.slice(refusalsBefore)).toEqual([refusal]);
    expect(refusal.message).not.toContain('/jwks');
  });

  it('refuses the cloud metadata address at once, without waiting for it', async () => {
    const started = Date.now();
    const refusal = await refusalOf(production.fetch('https://169.254.169.254/latest/meta-data'));
    expect(refusal.code).toBe('address_not_allowed');
    expect(refusal.message).toMatch(/link-local/);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe('in development (ALLOW_LOOPBACK_HTTP_JWKS)', () => {
  it.each([
    ['by IP literal', () => `http://127.0.0.1:${port}/jwks`],
    ['by name', () => `http://localhost:${port}/jwks`],
  ])('fetches a loopback JWKS %s', async (_name, url) => {
    const response = await development.fetch(url(), { headers: { accept: 'application/json' } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(JWKS);
  });

  it('still refuses link-local and unspecified addresses', async () => {
    for (const url of ['https://169.254.169.254/jwks', `http://0.0.0.0:${port}/jwks`]) {
      const refusal = await refusalOf(development.fetch(url));
      expect(['address_not_allowed', 'url_not_allowed']).toContain(refusal.code);
    }
  });

  it('refuses a redirect instead of following it', async () => {
    const before = connections;
    const refusal = await refusalOf(development.fetch(`http://127.0.0.1:${port}/redirect`));
    expect(refusal.code).toBe('redirect_refused');
    expect(connections - before).toBeLessThanOrEqual(1);
  });

  it.each(['/large', '/large-chunked'])('refuses a body over the cap (%s)', async (path) => {
    const refusal = await refusalOf(development.fetch(`http://127.0.0.1:${port}${path}`));
    expect(refusal.code).toBe('response_too_large');
  });
});
