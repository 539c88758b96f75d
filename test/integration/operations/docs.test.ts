/**
 * The admin API's description (CONTRACT §4): an OpenAPI document at /docs/openapi.json generated
 * from the routes' own TypeBox schemas, and a self-contained browsable page at /docs that loads
 * nothing from elsewhere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../helpers/server.js';

interface Operation {
  summary?: string;
  tags?: string[];
  security?: Record<string, unknown>[];
  parameters?: { name: string; in: string }[];
  requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
  responses?: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }>;
}

interface OpenApi {
  openapi: string;
  info: { title: string; version: string };
  servers: { url: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, Record<string, unknown>> };
}

/** Every admin operation CONTRACT §4 names that this service implements so far. */
const ADMIN_OPERATIONS = [
  'post /admin/agents',
  'get /admin/agents',
  'get /admin/agents/{id}',
  'patch /admin/agents/{id}',
  'delete /admin/agents/{id}',
  'post /admin/agents/{id}/disable',
  'post /admin/agents/{id}/enable',
  'post /admin/agents/{id}/secret',
  'post /admin/resources',
  'get /admin/resources',
  'get /admin/resources/{id}',
  'patch /admin/resources/{id}',
  'delete /admin/resources/{id}',
  'post /admin/trusted-issuers',
  'get /admin/trusted-issuers',
  'get /admin/trusted-issuers/{id}',
  'patch /admin/trusted-issuers/{id}',
  'delete /admin/trusted-issuers/{id}',
  'get /admin/keys',
  'post /admin/keys/rotate',
  'post /admin/keys/{kid}/revoke',
];

const HTTP_METHODS = new Set(['get', 'post', 'put', 'patch', 'delete']);

function operations(document: OpenApi): [string, Operation][] {
  return Object.entries(document.paths).flatMap(([url, item]) =>
    Object.entries(item)
      .filter(([method]) => HTTP_METHODS.has(method))
      .map(([method, operation]): [string, Operation] => [`${method} ${url}`, operation]),
  );
}

let server: TestServer;
let document: OpenApi;

beforeAll(async () => {
  server = await startTestServer();
  const response = await fetch(`${server.baseUrl}/docs/openapi.json`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  document = (await response.json()) as OpenApi;
});

afterAll(async () => {
  await server?.close();
});

describe('GET /docs/openapi.json', () => {
  it('is an OpenAPI 3 document for this issuer, served without authentication', () => {
    expect(document.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(document.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    expect(document.servers).toEqual([{ url: server.baseUrl }]);
    expect(document.components.securitySchemes.adminBearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('lists every admin operation', () => {
    const listed = operations(document).map(([name]) => name);
    expect(listed).toEqual(expect.arrayContaining(ADMIN_OPERATIONS));
  });

  it('gives every admin operation a summary, tags and the admin bearer requirement', () => {
    const admin = operations(document).filter(([name]) => name.split(' ')[1]?.startsWith('/admin'));
    expect(admin.length).toBeGreaterThanOrEqual(ADMIN_OPERATIONS.length);
    for (const [name, operation] of admin) {
      expect(operation.summary, name).toEqual(expect.stringMatching(/\S/));
      expect(operation.tags?.length, name).toBeGreaterThan(0);
      expect(operation.security, name).toEqual([{ adminBearer: [] }]);
    }
  });

  it('describes bodies and answers with the schemas the routes validate with', () => {
    const create = document.paths['/admin/agents']?.post;
    const body = create?.requestBody?.content['application/json']?.schema as {
      additionalProperties?: boolean;
      required?: string[];
      properties?: Record<string, { pattern?: string; maximum?: number }>;
    };
    expect(body.additionalProperties).toBe(false);
    expect(body.required).toEqual(['name']);
    expect(body.properties?.id?.pattern).toBe('^[A-Za-z0-9._:/-]{3,200}$');
    expect(body.properties?.tokenTtlSeconds?.maximum).toBe(3600);
    expect(Object.keys(create?.responses ?? {})).toContain('201');

    const read = document.paths['/admin/agents/{id}']?.get;
    expect(read?.parameters).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'id', in: 'path' })]),
    );

    const keys =
      document.paths['/admin/keys']?.get?.responses?.['200']?.content?.['application/json']?.schema;
    expect(JSON.stringify(keys)).toMatch(/"state"/);
    expect(JSON.stringify(keys)).not.toMatch(/privateJwk/);
  });

  it('does not list the documentation routes themselves', () => {
    expect(Object.keys(document.paths)).not.toContain('/docs');
    expect(Object.keys(document.paths)).not.toContain('/docs/openapi.json');
  });
});

describe('GET /docs', () => {
  it('is a self-contained HTML page listing every operation', async () => {
    const response = await fetch(`${server.baseUrl}/docs`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    const html = await response.text();
    expect(html).toMatch(/^<!doctype html>/i);
    for (const [name, operation] of operations(document)) {
      const [method, url] = name.split(' ');
      expect(html, name).toContain(`${method?.toUpperCase()}</span> <code>${url}</code>`);
      if (operation.summary) expect(html, name).toContain(operation.summary.replace(/'/g, '&#39;'));
    }
    // Nothing is fetched from anywhere: no script, no remote stylesheet, image or link.
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).toContain('href="/docs/openapi.json"');
  });
});
