/**
 * What the benchmark measures, each in its own process (bench/run.ts pins it to one core):
 *   peer      a bare oidc-provider 9 with one client and `client_credentials`: its default
 *             in-memory adapter, no database, JWT access tokens (resource indicators with
 *             accessTokenFormat 'jwt', ES256), so each request signs one token as ours do.
 *   ceiling   not a server: ES256 verify of a token + ES256 sign of a new one with jose, as many
 *             as this core does in `seconds` (argv[3]); prints {"perSecond": …} and exits.
 *   sts       agent-sts itself (PostgreSQL when DATABASE_URL is set, else PGlite), with an IdP
 *             (trusted issuer, inline JWKS), agents A→B→C→D→E and a resource, and the subject
 *             tokens of every scenario prepared once and replayed. BENCH_EXTRA_AGENTS=N registers
 *             N more agents (and N / 100 resources) straight into the database (bench/seed.ts).
 *   admin     agent-sts on the database of DATABASE_URL as it is (seeded by bench/seed.ts, not
 *             emptied), for the admin API; prints its address and bootstrap admin token.
 * A server prints one JSON line with what the load generator needs, then serves until SIGINT.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, exportJWK, generateKeyPair, jwtVerify, SignJWT, type CryptoKey } from 'jose';

const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const RESOURCE = 'https://api.bench.example';
/** Long enough for any run: subject tokens are prepared once and replayed. */
const LONG_TTL_SECONDS = 6 * 3600;

export type Form = Record<string, string>;

async function signToken(privateKey: CryptoKey, claims: Record<string, unknown>, kid?: string) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iat: now, exp: now + LONG_TTL_SECONDS, jti: crypto.randomUUID(), ...claims })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', ...(kid ? { kid } : {}) })
    .sign(privateKey);
}

async function peer(): Promise<void> {
  const { Provider } = await import('oidc-provider');
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), kid: 'peer-1', alg: 'ES256', use: 'sig' };
  const provider = new Provider('http://127.0.0.1', {
    clients: [
      {
        client_id: 'peer-client',
        client_secret: 'peer-secret-peer-secret-peer-secret',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    jwks: { keys: [signingKey] } as never,
    // The only key is EC: ID token (unused) defaults must not ask for RS256.
    clientDefaults: { id_token_signed_response_alg: 'ES256' },
    scopes: ['read'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'read',
          audience: RESOURCE,
          accessTokenTTL: 300,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        }),
      },
    },
  });
  const server = createServer(provider.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const form: Form = {
    grant_type: 'client_credentials',
    client_id: 'peer-client',
    client_secret: 'peer-secret-peer-secret-peer-secret',
    scope: 'read',
    resource: RESOURCE,
  };
  process.stdout.write(JSON.stringify({ baseUrl: `http://127.0.0.1:${port}`, forms: { peer: form } }) + '\n');
}

/** verify + sign per iteration; 50 in flight, so WebCrypto's threadpool work overlaps on this core. */
async function ceiling(seconds: number): Promise<void> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const subject = await signToken(privateKey, { sub: 'alice', aud: 'bench-b', scope: 'read' });
  const once = async () => {
    const { payload } = await jwtVerify(subject, publicKey, { typ: 'at+jwt', algorithms: ['ES256'] });
    await signToken(privateKey, { sub: payload.sub, aud: RESOURCE, scope: payload.scope, act: { sub: 'b' } });
  };
  for (let warm = 0; warm < 500; warm += 1) await once();
  let done = 0;
  const usage = process.cpuUsage();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (performance.now() < deadline) {
        await once();
        done += 1;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const { user, system } = process.cpuUsage(usage);
  const cpu = (user + system) / 1e4 / elapsed;
  process.stdout.write(JSON.stringify({ perSecond: done / elapsed, iterations: done, cpu }) + '\n');
}

async function sts(): Promise<void> {
  // Loaded here only, so the peer and the ceiling processes hold none of agent-sts.
  const { startTestServer } = await import('../test/helpers/server.js');
  const { registerAgent, registerResource, registerTrustedIssuer } =
    await import('../test/helpers/fixtures.js');
  const server = await startTestServer({
    env: { TOKEN_RATE_LIMIT: '10000000', ADMIN_RATE_LIMIT: '10000000', LOG_LEVEL: 'silent' },
  });
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const idp = { issuer: 'https://idp.bench.example', kid: 'idp-1' };
  const idpJwk = { ...(await exportJWK(publicKey)), kid: idp.kid, alg: 'ES256', use: 'sig' };
  await registerTrustedIssuer(server, {
    issuer: idp.issuer,
    jwks: { keys: [idpJwk] },
    audiences: ['https://sts.bench.example'],
  });
  await registerResource(server, { id: RESOURCE, scopes: ['read'] });
  const ids = ['bench-a', 'bench-b', 'bench-c', 'bench-d', 'bench-e'];
  const secrets: Record<string, string> = {};
  for (const [index, id] of ids.entries()) {
    const registered = await registerAgent(server, {
      id,
      tokenEndpointAuthMethod: 'client_secret_post',
      allowedScopes: ['read'],
      allowedAudiences: [ids[index + 1] ?? RESOURCE, ...(index === 0 ? [RESOURCE] : [])],
      tokenTtlSeconds: 3600,
    });
    secrets[id] = registered.clientSecret ?? '';
  }
  const client = (id: string): Form => ({ client_id: id, client_secret: secrets[id] ?? '' });
  const exchangeForm = (actor: string, subject: string, audience: string): Form => ({
    ...client(actor),
    grant_type: EXCHANGE,
    subject_token: subject,
    subject_token_type: ACCESS_TOKEN,
    audience,
  });
  const issue = async (form: Form): Promise<string> => {
    const response = await fetch(`${server.baseUrl}/token`, {
      method: 'POST',
      body: new URLSearchParams(form),
    });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`preparing ${form.grant_type}: ${response.status} ${text}`);
    return (JSON.parse(text) as { access_token: string }).access_token;
  };

  const idpToken = await signToken(
    privateKey,
    { iss: idp.issuer, sub: 'alice', aud: 'bench-a', scope: 'read' },
    idp.kid,
  );
  const hop1 = exchangeForm('bench-a', idpToken, 'bench-b');
  const depth1 = await issue(hop1);
  const hop2 = exchangeForm('bench-b', depth1, 'bench-c');
  const depth2 = await issue(hop2);
  const depth3 = await issue(exchangeForm('bench-c', depth2, 'bench-d'));
  const depth4 = exchangeForm('bench-d', depth3, 'bench-e');
  const chain = decodeJwt(await issue(depth4)).act;
  let depth = 0;
  for (let act = chain as { act?: unknown } | undefined; act; act = act.act as typeof act) depth += 1;
  if (depth !== 4) throw new Error(`the depth-4 scenario issued a token of depth ${depth}`);
  const forms = {
    cc: { ...client('bench-a'), grant_type: 'client_credentials', resource: RESOURCE },
    hop1,
    hop2,
    depth4,
  };
  await issue(forms.cc);
  // A resource server reads discovery and the JWKS: measure the server in the state that leaves it
  // in (oidc-provider, which serves both, enters its AsyncLocalStorage on each request).
  for (const path of ['/.well-known/openid-configuration', '/jwks']) {
    const response = await fetch(`${server.baseUrl}${path}`);
    if (response.status !== 200) throw new Error(`${path}: ${response.status}`);
    await response.arrayBuffer();
  }
  await registerExtraAgents(server.database, Number(process.env.BENCH_EXTRA_AGENTS ?? 0));
  process.stdout.write(
    JSON.stringify({ baseUrl: server.baseUrl, database: server.database.kind, forms }) + '\n',
  );
  // Close the app and the database (PGlite's temporary directory goes with it), then exit.
  process.removeAllListeners('SIGINT');
  process.once('SIGINT', () => {
    setTimeout(() => process.exit(0), 5000).unref();
    void server.close().finally(() => process.exit(0));
  });
}

/**
 * `count` more agents through SQL, as bench/seed.ts registers them; on PostgreSQL over a
 * connection of its own, which has no statement timeout.
 */
async function registerExtraAgents(database: { executeScript(sql: string): Promise<void> }, count: number) {
  if (count <= 0) return;
  const { seedAgents } = await import('./seed.js');
  const url = process.env.DATABASE_URL;
  if (!url) {
    await seedAgents((sql) => database.executeScript(sql), count);
    return;
  }
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await seedAgents((sql) => client.query(sql), count);
    await client.query('ANALYZE agents, resources');
  } finally {
    await client.end();
  }
}

async function admin(): Promise<void> {
  const { startTestServer } = await import('../test/helpers/server.js');
  // Seeded lineage is up to 30 days old: keep it, so chain views find it. The data outlives this
  // process, and so does the signing key it creates: a fixed key-encryption key opens it next time.
  const server = await startTestServer({
    keepData: true,
    env: {
      ADMIN_RATE_LIMIT: '10000000',
      LOG_LEVEL: 'silent',
      LINEAGE_RETENTION_GRACE_DAYS: '3650',
      KEY_ENCRYPTION_KEY: 'b'.repeat(64),
    },
  });
  process.stdout.write(
    JSON.stringify({
      baseUrl: server.baseUrl,
      database: server.database.kind,
      adminToken: server.adminToken,
    }) + '\n',
  );
  process.removeAllListeners('SIGINT');
  process.once('SIGINT', () => {
    setTimeout(() => process.exit(0), 5000).unref();
    void server.close().finally(() => process.exit(0));
  });
}

const mode = process.argv[2];
// Exit normally on SIGINT so that --cpu-prof can write its profile.
process.once('SIGINT', () => process.exit(0));
if (mode === 'peer') await peer();
else if (mode === 'sts') await sts();
else if (mode === 'admin') await admin();
else if (mode === 'ceiling') await ceiling(Number(process.argv[3] ?? '5'));
else throw new Error('usage: servers.ts peer|sts|admin|ceiling <seconds>');
