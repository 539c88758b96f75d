/**
 * The web console's files (CONTRACT §6): served by the service itself under a strict
 * Content-Security-Policy, with no inline script or style for that policy to have to allow, and
 * found from `dist` as well as from `src`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP, CONSOLE_DIRECTORY, loadConsoleAssets } from '../../../src/http/console.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server?.close();
});

async function get(pathname: string, headers: Record<string, string> = {}) {
  return fetch(server.baseUrl + pathname, { redirect: 'manual', headers });
}

function expectHardened(response: Response) {
  const csp = response.headers.get('content-security-policy') ?? '';
  expect(csp).toBe(CONSOLE_CSP);
  expect(csp).toContain("default-src 'none'");
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("style-src 'self'");
  expect(csp).toContain("connect-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
  expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  expect(response.headers.get('referrer-policy')).toBe('no-referrer');
  expect(response.headers.get('cache-control')).toBe('no-cache');
  expect(response.headers.get('etag')).toMatch(/^".+"$/);
}

describe('the console at /console', () => {
  it('moves /console to /console/, where relative asset URLs resolve', async () => {
    const response = await get('/console');
    expect(response.status).toBe(301);
    expect(response.headers.get('location')).toBe('/console/');
  });

  it('serves the page with a strict CSP and no inline script or style', async () => {
    const response = await get('/console/');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expectHardened(response);
    const html = await response.text();
    expect(html).toContain('<script type="module" src="js/main.js"></script>');
    // Every <script> has a src and no body; no style element, no style or on… attribute.
    expect(html.match(/<script\b[^>]*>[^<]+<\/script>/g)).toBeNull();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=/i);
  });

  it('serves the stylesheet and every module with their types and the same headers', async () => {
    const css = await get('/console/console.css');
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expectHardened(css);
    for (const file of readdirSync(path.join(CONSOLE_DIRECTORY, 'js'))) {
      const module = await get(`/console/js/${file}`);
      expect(module.status, file).toBe(200);
      expect(module.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expectHardened(module);
      const source = await module.text();
      // XSS-safe by construction: API data reaches the DOM as text, never as markup, and nothing evaluates strings.
      expect(source, file).not.toMatch(
        /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/,
      );
      // The token stays in the tab's session storage, never in localStorage or a cookie.
      expect(source, file).not.toMatch(/localStorage|document\.cookie/);
    }
  });

  it('answers a matching If-None-Match with 304', async () => {
    const first = await get('/console/js/main.js');
    const etag = first.headers.get('etag') ?? '';
    const again = await get('/console/js/main.js', { 'if-none-match': etag });
    expect(again.status).toBe(304);
  });

  it('answers 404 for a file that is not there, and never leaves the console folder', async () => {
    for (const pathname of [
      '/console/nope.js',
      '/console/../package.json',
      '/console/%2e%2e/package.json',
      '/console/js/../../src/app.ts',
      '/console/..%2f..%2fpackage.json',
    ]) {
      const response = await get(pathname);
      expect([404, 400], pathname).toContain(response.status);
      expect(await response.text()).not.toContain('"dependencies"');
    }
  });

  it('needs no credentials for its files: the token is only ever sent to /admin', async () => {
    const response = await get('/console/js/api.js');
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('sessionStorage');
  });
});

describe('the console assets after a build', () => {
  it('are resolved next to the package root from dist/http as from src/http', () => {
    // dist/http/console.js resolves `../../console` as src/http/console.ts does.
    expect(CONSOLE_DIRECTORY).toBe(path.resolve(import.meta.dirname, '..', '..', '..', 'console'));
    const assets = loadConsoleAssets(CONSOLE_DIRECTORY);
    expect([...assets.keys()]).toEqual(expect.arrayContaining(['index.html', 'console.css', 'js/main.js']));
    expect(assets.get('index.html')?.body.toString()).toBe(
      readFileSync(path.join(CONSOLE_DIRECTORY, 'index.html'), 'utf8'),
    );
  });
});
