/**
 * The two servers the benchmark compares, each run in its own process so the load generator
 * does not share its event loop:
 *   baseline  bare fastify that verifies the subject JWT and signs a new one: the least any HTTP
 *             token service must do per exchange (DESIGN.md measured ~15k req/s for this shape).
 *   sts       agent-sts itself, on PostgreSQL when DATABASE_URL is set, else PGlite.
 * Prints one JSON line with what the load generator needs, then serves until killed.
 */
import Fastify from 'fastify';
import formbody from '@fastify/formbody';
import { generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { startTestServer } from '../test/helpers/server.js';

const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const RESOURCE = 'https://api.example';

async function baseline(): Promise<void> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const subject = await new SignJWT({ scope: 'read' })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' })
    .setSubject('bench-a')
    .setAudience('bench-b')
    .setExpirationTime('1h')
    .sign(privateKey);
  const app = Fastify({ logger: false });
  await app.register(formbody);
  app.post('/token', async (request) => {
    const form = request.body as Record<string, string>;
    const { payload } = await jwtVerify(form.subject_token ?? '', publicKey, { typ: 'at+jwt' });
    const token = await new SignJWT({ scope: payload.scope, act: { sub: 'bench-b' } })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' })
      .setSubject(String(payload.sub))
      .setAudience(form.resource ?? '')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    return { access_token: token, issued_token_type: ACCESS_TOKEN, token_type: 'Bearer', expires_in: 300 };
  });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const exchangeForm = {
    grant_type: EXCHANGE,
    subject_token: subject,
    subject_token_type: ACCESS_TOKEN,
    resource: RESOURCE,
  };
  process.stdout.write(JSON.stringify({ baseUrl: address, exchangeForm }) + '\n');
}

async function sts(): Promise<void> {
  const server = await startTestServer({ env: { TOKEN_RATE_LIMIT: '10000000', LOG_LEVEL: 'silent' } });
  const admin = { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' };
  const post = async (path: string, body: unknown) => {
    const response = await fetch(server.baseUrl + path, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify(body),
    });
    if (response.status !== 201) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as { clientSecret: string };
  };
  await post('/admin/resources', { id: RESOURCE, name: 'API', scopes: ['read'] });
  const agent = (id: string, audience: string) =>
    post('/admin/agents', {
      id,
      name: id,
      tokenEndpointAuthMethod: 'client_secret_post',
      allowedScopes: ['read'],
      allowedAudiences: [audience],
    });
  const a = await agent('bench-a', 'bench-b');
  const b = await agent('bench-b', RESOURCE);
  const ownForm = {
    grant_type: 'client_credentials',
    client_id: 'bench-a',
    client_secret: a.clientSecret,
    audience: 'bench-b',
  };
  const own = await fetch(`${server.baseUrl}/token`, { method: 'POST', body: new URLSearchParams(ownForm) });
  const subject = ((await own.json()) as { access_token: string }).access_token;
  const exchangeForm = {
    grant_type: EXCHANGE,
    client_id: 'bench-b',
    client_secret: b.clientSecret,
    subject_token: subject,
    subject_token_type: ACCESS_TOKEN,
    resource: RESOURCE,
  };
  process.stdout.write(
    JSON.stringify({ baseUrl: server.baseUrl, database: server.database.kind, ownForm, exchangeForm }) + '\n',
  );
}

const mode = process.argv[2];
if (mode === 'baseline') await baseline();
else if (mode === 'sts') await sts();
else throw new Error('usage: servers.ts baseline|sts');
// Exit normally on SIGINT so that --cpu-prof can write its profile.
process.once('SIGINT', () => process.exit(0));
