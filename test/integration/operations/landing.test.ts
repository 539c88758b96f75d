/**
 * GET /: a landing page that links the discovery metadata, the JWKS, the admin API's docs and the
 * console, every link answering, under a CSP that allows nothing but the page's own stylesheet.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../helpers/server.js';

describe('the landing page', () => {
  let server: TestServer;
  let response: Response;
  let page: string;

  beforeAll(async () => {
    server = await startTestServer();
    response = await fetch(`${server.baseUrl}/`);
    page = await response.text();
  });

  afterAll(async () => {
    await server?.close();
  });

  const links = () => [...page.matchAll(/<a href="([^"]+)"/g)].map((match) => match[1] as string);

  it('is an HTML page naming the issuer', () => {
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page).toContain(`Issuer: <code>${server.baseUrl}</code>`);
  });

  it('links the metadata, the JWKS, the docs and the console', () => {
    expect(links()).toEqual(
      expect.arrayContaining([
        '/.well-known/oauth-authorization-server',
        '/.well-known/openid-configuration',
        '/jwks',
        '/docs',
        '/docs/openapi.json',
        '/console/',
      ]),
    );
  });

  it('links only what answers', async () => {
    for (const href of links()) {
      const linked = await fetch(new URL(href, server.baseUrl), { redirect: 'manual' });
      expect(linked.status, href).toBe(200);
    }
  });

  it('runs no script and allows only its own stylesheet, by hash', () => {
    const csp = response.headers.get('content-security-policy') ?? '';
    const style = /<style>([^<]*)<\/style>/.exec(page)?.[1] ?? '';
    const hash = createHash('sha256').update(style).digest('base64');
    expect(csp).toBe(
      `default-src 'none'; style-src 'sha256-${hash}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    );
    expect(page).not.toMatch(/<script|\sstyle=|\son\w+=/i);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
  });
});
