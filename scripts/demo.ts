/**
 * `npm run demo`: agent-sts on the embedded PGlite, one user's token through three agents to an
 * API, printed as the chain tree, the token the API verifies and one refusal with its rule; then
 * it keeps serving so the same chain can be looked at in the console (`--exit` stops instead).
 *
 *   npm run demo [-- --exit] [-- --port 3100] [-- --data-dir .data/demo]
 *
 * Re-runnable on the same data dir: what exists is updated (agents get a new secret, the demo
 * IdP a new key), never registered twice. Agents and the API use the SDK, not the server's code.
 */
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { buildApp, MIGRATIONS_DIRECTORY } from '../src/app.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { openDatabase } from '../src/infra/database.js';
import { migrate } from '../src/infra/migrate.js';
import { AgentStsClient, OAuthError, type TokenSet } from '../src/sdk/agent/index.js';
import { createAgentStsKeySet, verifyAgentToken } from '../src/sdk/resource-server/index.js';

const IDP_ISSUER = 'https://idp.demo.example';
const API = 'https://calendar.demo.example/api';
const API_SCOPES = ['calendar.read', 'calendar.write'];
const AGENTS = {
  planner: { id: 'demo-planner', name: 'Planner', next: 'demo-researcher' },
  researcher: { id: 'demo-researcher', name: 'Researcher', next: 'demo-writer' },
  writer: { id: 'demo-writer', name: 'Writer', next: API },
} as const;

interface Options {
  readonly exit: boolean;
  readonly port: number;
  readonly dataDir: string;
}

function parseArguments(argv: readonly string[]): Options {
  let exit = false;
  let port = 3100;
  let dataDir = '.data/demo';
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index];
    if (argument === '--exit') exit = true;
    else if (argument === '--port') port = Number(argv[++index]);
    else if (argument === '--data-dir') dataDir = String(argv[++index]);
    else throw new ConfigError(`unknown argument ${argument}; use --exit, --port N, --data-dir DIR`);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ConfigError('--port takes 1-65535');
  return { exit, port, dataDir };
}

// ── output ────────────────────────────────────────────────────────────────────────────────────

const say = (line = '') => process.stdout.write(`${line}\n`);
const heading = (title: string) => say(`\n── ${title} ${'─'.repeat(Math.max(3, 76 - title.length))}`);

interface ChainNode {
  readonly jti: string;
  readonly actor: string;
  readonly aud: string;
  readonly scopes: readonly string[];
  readonly depth: number;
  readonly expiresAt: string;
  readonly status: string;
  readonly children: readonly ChainNode[];
}

interface Chain {
  readonly txn: string;
  readonly tokenCount: number;
  readonly roots: readonly ChainNode[];
}

function treeLines(nodes: readonly ChainNode[], prefix: string): string[] {
  return nodes.flatMap((node, index) => {
    const last = index === nodes.length - 1;
    const expires = node.expiresAt.replace(/\.\d{3}Z$/, 'Z');
    const line =
      `${prefix}${last ? '└─' : '├─'} ${node.actor} → ${node.aud}` +
      `  [${node.scopes.join(' ')}]  depth ${node.depth}  exp ${expires}  ${node.status}`;
    return [line, ...treeLines(node.children, `${prefix}${last ? '   ' : '│  '}`)];
  });
}

function renderChain(chain: Chain, subject: string): string {
  return [`txn ${chain.txn} (${chain.tokenCount} tokens)`, `${subject}`, ...treeLines(chain.roots, '')].join(
    '\n',
  );
}

// ── the admin API, as any client would use it ──────────────────────────────────────────────────

function adminClient(baseUrl: string, adminToken: string) {
  return async function admin(method: string, path: string, body?: unknown): Promise<Response> {
    return fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${adminToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  };
}
type Admin = ReturnType<typeof adminClient>;

async function expectOk(response: Response, what: string): Promise<Record<string, unknown>> {
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok) throw new Error(`${what}: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

/** Creates the thing, or (already there from an earlier run) brings it to the same state. */
async function upsert(admin: Admin, collection: string, id: string, body: Record<string, unknown>) {
  const existing = await admin('GET', `/admin/${collection}/${encodeURIComponent(id)}`);
  if (existing.status === 404)
    return expectOk(await admin('POST', `/admin/${collection}`, { id, ...body }), id);
  await expectOk(existing, id);
  return expectOk(await admin('PATCH', `/admin/${collection}/${encodeURIComponent(id)}`, body), id);
}

/** Registers (or updates) an agent and returns a secret that works now: shown once, so rotated on re-runs. */
async function agentSecret(admin: Admin, id: string, body: Record<string, unknown>): Promise<string> {
  const registered = await upsert(admin, 'agents', id, body);
  if (typeof registered.clientSecret === 'string') return registered.clientSecret;
  const rotated = await expectOk(await admin('POST', `/admin/agents/${id}/secret`), `${id} secret`);
  return String(rotated.clientSecret);
}

// ── the demo ──────────────────────────────────────────────────────────────────────────────────

async function main(): Promise<void> {
  const options = parseArguments(process.argv.slice(2));
  const env: Record<string, string | undefined> = {
    ...process.env,
    HOST: '127.0.0.1',
    PORT: String(options.port),
    ISSUER: `http://127.0.0.1:${options.port}`,
    DATA_DIR: options.dataDir,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'error',
  };
  delete env.DATABASE_URL; // the demo is the embedded default, whatever the shell says
  const config = loadConfig(env);
  const database = await openDatabase({ databaseUrl: null, dataDir: config.dataDir });
  await migrate(database, MIGRATIONS_DIRECTORY);
  const app = await buildApp(config, database);
  await app.listen({ port: config.port, host: config.host });
  const stop = async () => {
    await app.close();
    await database.close();
  };

  try {
    await walk(config.issuer, config.adminToken, config.dataDir);
  } catch (error) {
    await stop();
    throw error;
  }
  if (options.exit) {
    await stop();
    return;
  }
  say('\nagent-sts keeps serving for the console; Ctrl-C stops it.');
  const shutdown = () => void stop().then(() => process.exit(0));
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

async function walk(issuer: string, adminToken: string, dataDir: string): Promise<void> {
  const admin = adminClient(issuer, adminToken);
  say(`agent-sts is running at ${issuer} (embedded PGlite in ${dataDir})`);

  heading('1. Register a demo IdP, an API and three agents');
  const idp = await generateKeyPair('ES256', { extractable: true });
  const idpJwk = {
    ...(await exportJWK(idp.publicKey)),
    kid: `demo-idp-${Date.now()}`,
    alg: 'ES256',
    use: 'sig',
  };
  await upsert(admin, 'trusted-issuers', 'demo-idp', {
    issuer: IDP_ISSUER,
    jwks: { keys: [idpJwk] },
    audiences: [`${issuer}/demo`],
  });
  say(`trusted issuer  ${IDP_ISSUER}  (key made for this run: ${idpJwk.kid})`);
  await upsert(admin, 'resources', API, { name: 'Demo calendar API', scopes: API_SCOPES });
  say(`resource        ${API}  scopes: ${API_SCOPES.join(' ')}`);
  const clients = new Map<string, AgentStsClient>();
  for (const agent of Object.values(AGENTS)) {
    const clientSecret = await agentSecret(admin, agent.id, {
      name: `Demo ${agent.name}`,
      allowedScopes: API_SCOPES,
      allowedAudiences: [agent.next],
    });
    clients.set(
      agent.id,
      new AgentStsClient({
        issuer,
        clientId: agent.id,
        authentication: { method: 'client_secret_basic', clientSecret },
      }),
    );
    say(`agent           ${agent.id.padEnd(16)} may call ${agent.next}`);
  }
  const client = (id: string) => clients.get(id)!;

  heading('2. alice signs in; the IdP gives the planner a token for her');
  const aliceToken = await new SignJWT({ scope: API_SCOPES.join(' '), client_id: 'demo-app' })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: idpJwk.kid })
    .setIssuer(IDP_ISSUER)
    .setSubject('alice')
    .setAudience(AGENTS.planner.id)
    .setIssuedAt()
    .setExpirationTime('15m')
    .setJti(crypto.randomUUID())
    .sign(idp.privateKey);
  say(`sub alice  aud ${AGENTS.planner.id}  scope ${API_SCOPES.join(' ')}  (iss ${IDP_ISSUER})`);

  heading('3. Three hops of token exchange (RFC 8693), each through AgentStsClient.exchange');
  const hop = async (actor: string, subjectToken: string, target: string, scope: string) => {
    const isApi = target === API;
    const tokens: TokenSet = await client(actor).exchange({
      subjectToken,
      ...(isApi ? { resource: target } : { audience: target }),
      scope,
    });
    say(
      `${actor.padEnd(16)} → ${target.padEnd(34)} scope ${tokens.scopes.join(' ')}  (${tokens.expiresIn}s)`,
    );
    return tokens.accessToken;
  };
  const forResearcher = await hop(AGENTS.planner.id, aliceToken, AGENTS.researcher.id, API_SCOPES.join(' '));
  const forWriter = await hop(AGENTS.researcher.id, forResearcher, AGENTS.writer.id, 'calendar.read');
  const forApi = await hop(AGENTS.writer.id, forWriter, API, 'calendar.read');

  heading('4. The API verifies the final token (verifyAgentToken, JWKS only)');
  const verified = await verifyAgentToken(forApi, {
    issuer,
    audience: API,
    requiredScopes: ['calendar.read'],
    keys: createAgentStsKeySet({ issuer }),
  });
  say(`subject    ${verified.subject}`);
  say(`actors     ${verified.actors.map((actor) => actor.subject).join(' ← ')}   (newest first)`);
  say(`client_id  ${verified.clientId}`);
  say(`scopes     ${verified.scopes.join(' ')}`);
  say(`txn        ${verified.txn}`);
  const txn = String(verified.txn);

  heading('5. The chain as agent-sts recorded it (GET /admin/chains/{txn})');
  const chain = (await expectOk(await admin('GET', `/admin/chains/${txn}`), 'chain')) as unknown as Chain;
  say(renderChain(chain, `${verified.subject} (via ${IDP_ISSUER})`));

  heading('6. A refusal: the writer asks the API for calendar.write, which the researcher held back');
  try {
    await client(AGENTS.writer.id).exchange({
      subjectToken: forWriter,
      resource: API,
      scope: 'calendar.write',
    });
    throw new Error('the escalation was granted; it must not be');
  } catch (error) {
    if (!(error instanceof OAuthError)) throw error;
    say(`OAuth error  ${error.status} ${error.error}: ${error.errorDescription ?? ''}`);
  }
  const audit = await expectOk(
    await admin('GET', `/admin/audit?txn=${encodeURIComponent(txn)}&decision=denied&limit=1`),
    'audit',
  );
  const [denied] = audit.items as Array<Record<string, unknown>>;
  if (!denied) throw new Error('no denied audit event for the chain');
  say(
    `audit rule   ${String(denied.rule)}  (agent ${String(denied.clientId)}, asked ${String(denied.requestedScope)})`,
  );

  heading('7. See the same chain in the console');
  say(`console      ${issuer}/console/#/chains/${txn}`);
  say(`admin token  ${adminToken}   (also in ${dataDir}/admin-token)`);
}

main().catch((error: unknown) => {
  process.stderr.write(`demo: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
