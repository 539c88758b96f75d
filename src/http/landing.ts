/**
 * GET /: a small page for whoever opens the service's address in a browser, linking what it
 * serves to people and to clients: the discovery metadata, the JWKS, the admin API's docs and the
 * console. Plain HTML with one stylesheet in the page, allowed by its hash: the CSP lets nothing
 * else load or run.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import {
  AUTHORIZATION_SERVER_METADATA_PATH,
  JWKS_PATH,
  OPENID_CONFIGURATION_PATH,
  TOKEN_PATH,
} from '../protocol/provider.js';
import { CONSOLE_PATH } from './console.js';
import { DOCS_PATH, escapeHtml, OPENAPI_PATH } from './docs.js';

export const LANDING_PATH = '/';

const STYLE =
  'body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem;color:#1f2328}' +
  'code{font-size:.9em}li{margin:.4rem 0}';

export const LANDING_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const link = (href: string, text: string = href) => `<a href="${href}">${escapeHtml(text)}</a>`;

export function renderLandingPage(issuer: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>agent-sts</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>agent-sts</h1>
<p>OAuth 2.0 Token Exchange (RFC 8693) for AI agents: every hop from one agent to the next gets a
short-lived, audience-bound, down-scoped token that names the whole delegation chain.</p>
<p>Issuer: <code>${escapeHtml(issuer)}</code>. Agents ask for tokens at <code>POST ${TOKEN_PATH}</code>.</p>
<ul>
<li>${link(AUTHORIZATION_SERVER_METADATA_PATH, 'Authorization server metadata')} (RFC 8414), also at
${link(OPENID_CONFIGURATION_PATH)}</li>
<li>${link(JWKS_PATH, 'JSON Web Key Set')}: the public keys that verify the tokens it issues</li>
<li>${link(DOCS_PATH, 'Admin API documentation')} and its ${link(OPENAPI_PATH, 'OpenAPI document')}</li>
<li>${link(`${CONSOLE_PATH}/`, 'Admin console')}: sign in with the admin token</li>
<li>${link('/healthz')} and ${link('/readyz')}: liveness and readiness</li>
</ul>
</main>
</body>
</html>
`;
}

export async function landingRoutes(app: FastifyInstance, options: { issuer: string }): Promise<void> {
  const page = renderLandingPage(options.issuer);
  app.get(LANDING_PATH, { schema: { hide: true } }, async (_request, reply) =>
    reply
      .header('Content-Security-Policy', LANDING_CSP)
      .header('X-Content-Type-Options', 'nosniff')
      .header('Referrer-Policy', 'no-referrer')
      .header('Cache-Control', 'no-cache')
      .type('text/html; charset=utf-8')
      .send(page),
  );
}
