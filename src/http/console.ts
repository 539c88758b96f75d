/**
 * The admin web console (CONTRACT §6) at /console: static HTML, CSS and ES modules from the
 * repository's `console/` folder, read once at start-up and served from memory. It is a client of
 * the admin API like any other (STYLE.md): the browser holds the admin bearer token in
 * sessionStorage and calls /admin with it; this module serves files and nothing else.
 *
 * No inline script or style, no eval, nothing from another origin: the page runs under a CSP that
 * allows only its own files and `fetch` to this origin, so an injected string can never execute.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ProblemError } from './problem.js';

export const CONSOLE_PATH = '/console';

/** src/http or dist/http: the assets sit two levels up, beside prisma/, in both layouts. */
export const CONSOLE_DIRECTORY = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'console',
);

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

interface Asset {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
}

/** Every servable file under `directory`, keyed by its URL path below /console/. */
export function loadConsoleAssets(directory: string = CONSOLE_DIRECTORY): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const walk = (folder: string, prefix: string): void => {
    for (const name of readdirSync(folder).sort()) {
      const file = path.join(folder, name);
      if (statSync(file).isDirectory()) {
        walk(file, `${prefix}${name}/`);
        continue;
      }
      const contentType = CONTENT_TYPES[path.extname(name)];
      if (contentType === undefined) continue;
      const body = readFileSync(file);
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
      assets.set(`${prefix}${name}`, { body, contentType, etag });
    }
  };
  walk(directory, '');
  if (!assets.has('index.html')) throw new Error(`console assets not found in ${directory}`);
  return assets;
}

function sendAsset(request: FastifyRequest, reply: FastifyReply, asset: Asset): FastifyReply {
  reply
    .header('Content-Security-Policy', CONSOLE_CSP)
    .header('X-Content-Type-Options', 'nosniff')
    .header('Referrer-Policy', 'no-referrer')
    .header('X-Frame-Options', 'DENY')
    .header('Cross-Origin-Opener-Policy', 'same-origin')
    // Revalidated on every load (cheap with the ETag), so an upgrade never mixes old and new modules.
    .header('Cache-Control', 'no-cache')
    .header('ETag', asset.etag)
    .type(asset.contentType);
  if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  return reply.send(asset.body);
}

export async function consoleRoutes(
  app: FastifyInstance,
  options: { directory?: string } = {},
): Promise<void> {
  const assets = loadConsoleAssets(options.directory);
  const index = assets.get('index.html') as Asset;
  const hidden = { schema: { hide: true } };

  // Relative URLs in the page resolve against /console/, so the bare path moves there.
  app.get(CONSOLE_PATH, hidden, async (_request, reply) =>
    reply.header('Cache-Control', 'no-cache').redirect(`${CONSOLE_PATH}/`, 301),
  );
  app.get(`${CONSOLE_PATH}/`, hidden, async (request, reply) => sendAsset(request, reply, index));
  app.get<{ Params: { '*': string } }>(`${CONSOLE_PATH}/*`, hidden, async (request, reply) => {
    const asset = assets.get(request.params['*']);
    if (asset === undefined) throw new ProblemError(404, 'not_found', 'no such console file');
    return sendAsset(request, reply, asset);
  });
}
