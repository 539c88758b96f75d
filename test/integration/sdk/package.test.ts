/**
 * CONTRACT §6: one npm package whose subpaths `agent-sts/resource-server` and `agent-sts/agent`
 * work by name in a fresh project and pull in nothing of the server. Compiles the SDK as the
 * build does, packs the repository, installs the tarball into an empty project from the npm cache, type-checks
 * a consumer against the published declarations, then removes the compiled server and the
 * server's own dependencies from the install and runs the consumer against a running agent-sts.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAgent, registerResource, uniqueSuffix } from '../../helpers/fixtures.js';
import { unmet } from '../../helpers/requirements.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

const run = promisify(execFile);
const ROOT = path.resolve('.');
// About two minutes on a quiet 2-core machine; room for a loaded one.
const TIMEOUT = 300_000;
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');

async function npmAvailable(): Promise<boolean> {
  return run('npm', ['--version']).then(
    () => true,
    () => false,
  );
}

const CONSUMER = `
import { AgentStsClient, OAuthError } from 'agent-sts/agent';
import { createAgentStsKeySet, verifyAgentToken, AgentTokenError } from 'agent-sts/resource-server';

const { ISSUER: issuer, CLIENT_ID: clientId, CLIENT_SECRET: clientSecret, AUDIENCE: audience } = process.env;
const client = new AgentStsClient({ issuer, clientId, authentication: { method: 'client_secret_basic', clientSecret } });
const tokens = await client.clientCredentials({ audience, scope: 'notes.read' });
const keys = createAgentStsKeySet({ issuer });
const verified = await verifyAgentToken(tokens.accessToken, { issuer, audience, keys, requiredScopes: ['notes.read'] });
const refused = await verifyAgentToken(tokens.accessToken, { issuer, audience: 'https://elsewhere.example', keys }).catch((e) => e);
const error = await client.clientCredentials({ audience, scope: 'notes.admin' }).catch((e) => e);
console.log(JSON.stringify({
  subject: verified.subject,
  scopes: verified.scopes,
  refused: refused instanceof AgentTokenError ? refused.code : String(refused),
  oauth: error instanceof OAuthError ? error.error : String(error),
}));
`;

const TYPED_CONSUMER = `
import { AgentStsClient, type TokenSet } from 'agent-sts/agent';
import { verifyAgentToken, createAgentStsKeySet, type AgentToken } from 'agent-sts/resource-server';

export async function check(issuer: string): Promise<AgentToken> {
  const client = new AgentStsClient({ issuer, clientId: 'a', authentication: { method: 'client_secret_post', clientSecret: 's' } });
  const tokens: TokenSet = await client.exchange({ subjectToken: 't', audience: 'b' });
  return verifyAgentToken(tokens.accessToken, { issuer, audience: 'b', keys: createAgentStsKeySet({ issuer }) });
}
`;

describe('the npm package', async () => {
  const available = await npmAvailable();
  let server: TestServer;
  let work: string;

  beforeAll(async () => {
    if (!available) return;
    work = mkdtempSync(path.join(tmpdir(), 'agent-sts-pack-'));
    server = await startTestServer();
  }, TIMEOUT);

  afterAll(async () => {
    await server?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const npmOnPath = {
    met: available,
    reason: 'npm is not on PATH: this test packs and installs the package with it',
  };
  it.skipIf(unmet(npmOnPath))(
    'installs from its tarball and serves both subpaths by name, without the server',
    async () => {
      // The SDK's part of `npm run build` (the same compiler options; the whole build is the
      // prepack script, skipped here to keep this test short), then the tarball as npm packs it.
      const sdkConfig = path.join(work, 'tsconfig.sdk.json');
      writeFileSync(
        sdkConfig,
        JSON.stringify({
          extends: path.join(ROOT, 'tsconfig.build.json'),
          compilerOptions: {
            rootDir: path.join(ROOT, 'src'),
            outDir: path.join(ROOT, 'dist'),
            typeRoots: [path.join(ROOT, 'node_modules/@types')],
          },
          include: [path.join(ROOT, 'src/sdk/**/*.ts')],
        }),
      );
      await run(process.execPath, [TSC, '-p', sdkConfig], { cwd: ROOT });
      await run('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', work], { cwd: ROOT });
      const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'));
      expect(tarball, 'npm pack wrote a tarball').toBeDefined();

      const project = path.join(work, 'consumer');
      await run('mkdir', ['-p', project]);
      writeFileSync(
        path.join(project, 'package.json'),
        JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
      );
      const install = ['install', '--no-audit', '--no-fund', '--ignore-scripts', path.join(work, tarball!)];
      await run('npm', [...install, '--offline'], { cwd: project }).catch(() =>
        // Something missing from the cache: the registry is reachable.
        run('npm', [...install, '--prefer-offline'], { cwd: project }),
      );

      // The published declarations type-check a TypeScript consumer.
      writeFileSync(path.join(project, 'check.ts'), TYPED_CONSUMER);
      writeFileSync(
        path.join(project, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            module: 'nodenext',
            moduleResolution: 'nodenext',
            strict: true,
            noEmit: true,
            skipLibCheck: true,
            types: [],
          },
          files: ['check.ts'],
        }),
      );
      await run(process.execPath, [TSC, '-p', project]).catch((error: { stdout?: string }) => {
        throw new Error(`the consumer does not type-check: ${error.stdout ?? String(error)}`);
      });

      // Nothing of the server may be needed: remove its compiled code and its own dependencies.
      const installed = path.join(project, 'node_modules');
      for (const entry of readdirSync(path.join(installed, 'agent-sts/dist'))) {
        if (entry !== 'sdk')
          rmSync(path.join(installed, 'agent-sts/dist', entry), { recursive: true, force: true });
      }
      for (const dependency of ['oidc-provider', 'fastify', '@prisma', '@electric-sql', 'pg', 'ioredis']) {
        rmSync(path.join(installed, dependency), { recursive: true, force: true });
      }

      const suffix = uniqueSuffix();
      const audience = `https://notes-${suffix}.example`;
      await registerResource(server, { id: audience, scopes: ['notes.read'] });
      const agent = await registerAgent(server, {
        id: `packaged-${suffix}`,
        allowedScopes: ['notes.read'],
        allowedAudiences: [audience],
      });
      writeFileSync(path.join(project, 'consumer.mjs'), CONSUMER);
      const { stdout } = await run(process.execPath, ['consumer.mjs'], {
        cwd: project,
        env: {
          PATH: process.env.PATH,
          ISSUER: server.config.issuer,
          CLIENT_ID: agent.id,
          CLIENT_SECRET: agent.clientSecret,
          AUDIENCE: audience,
        },
      });
      expect(JSON.parse(stdout)).toEqual({
        subject: agent.id,
        scopes: ['notes.read'],
        refused: 'token_audience_invalid',
        oauth: 'invalid_scope',
      });
    },
    TIMEOUT,
  );
});
