/**
 * The README's `npm start` on a first run, as a user's shell starts it: it builds, serves on the
 * Node.js 22 that `npm ci` installed (ADR 0018) without a runtime or npm warning, and a SIGTERM to
 * npm (what a terminal, a supervisor or `kill <pid>` sends) stops the server with it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntilReady } from '../../helpers/child-server.js';
import { until } from '../../helpers/poll.js';
import { unmet, type Requirement } from '../../helpers/requirements.js';
import { freePort } from '../../helpers/server.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** A bound, not a measure: `npm start` type-checks and compiles the project before it listens. */
const START_TIMEOUT_MS = 300_000;
const STOP_TIMEOUT_MS = 60_000;

const { optionalDependencies } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  optionalDependencies: Record<string, string>;
};
const PINNED_NODE = optionalDependencies[`node-${process.platform}-${process.arch}`];
const NODE_BINARY: Requirement = {
  met: PINNED_NODE !== undefined,
  reason: `npm publishes no Node.js 22 binary for ${process.platform}-${process.arch}, so npm scripts run on the Node.js that runs npm`,
};

/** The user's shell: no DATABASE_URL (the embedded default), no PATH entry of vitest's npm run. */
function firstRunEnv(port: number, dataDir: string): NodeJS.ProcessEnv {
  const { DATABASE_URL: _database, REDIS_URL: _redis, ...env } = process.env;
  const PATH = (env.PATH ?? '')
    .split(path.delimiter)
    .filter((entry) => !entry.endsWith(path.join('node_modules', '.bin')))
    .join(path.delimiter);
  return { ...env, PATH, HOST: '127.0.0.1', PORT: String(port), DATA_DIR: dataDir };
}

/** Whether any process of the group led by `leader` is alive (signal 0 only checks). */
function processGroupAlive(leader: number): boolean {
  try {
    process.kill(-leader, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm start on a first run', () => {
  let npm: ChildProcess;
  let output = '';
  let baseUrl: string;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'agent-sts-first-run-'));
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    // Its own process group, so the test can see every process npm started, and clean up after it.
    npm = spawn('npm', ['start'], {
      cwd: ROOT,
      env: firstRunEnv(port, dataDir),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    npm.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    npm.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitUntilReady(baseUrl, npm, () => output, START_TIMEOUT_MS);
  }, START_TIMEOUT_MS + 10_000);

  afterAll(() => {
    if (npm?.pid !== undefined && processGroupAlive(npm.pid)) process.kill(-npm.pid, 'SIGKILL');
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints no runtime, deprecation or npm warning', () => {
    expect(output).toContain('agent-sts is ready');
    expect(output).not.toMatch(/Unsupported runtime/i);
    expect(output).not.toMatch(/^npm warn/im);
    expect(output).not.toMatch(/^\(node:\d+\) \w*Warning/m);
  });

  it.skipIf(unmet(NODE_BINARY))('serves on the Node.js 22 that npm ci installed', async () => {
    const metrics = await (await fetch(`${baseUrl}/metrics`)).text();
    expect(metrics).toContain(`nodejs_version_info{version="v${PINNED_NODE}"`);
  });

  it.skipIf(unmet(NODE_BINARY))('runs the tests on that Node.js 22 too', () => {
    expect(process.version).toBe(`v${PINNED_NODE}`);
  });

  it('reads a token request without a warning from oidc-provider', async () => {
    // Any token request makes the provider read its body (a bad client is enough for that).
    const response = await fetch(`${baseUrl}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&client_id=first-run&client_secret=not-registered',
    });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_client');
  });

  it(
    'passes SIGTERM on to the server: it shuts down and no process is left',
    async () => {
      process.kill(npm.pid as number, 'SIGTERM');
      const gone = await until(() => !processGroupAlive(npm.pid as number), STOP_TIMEOUT_MS);
      expect(gone, `processes of npm start still running after SIGTERM:\n${output}`).toBe(true);
      expect(output).toContain('"msg":"shutting down"');
      await expect(fetch(`${baseUrl}/healthz`)).rejects.toThrow();
      // Everything the server printed, the token request's included, has been read by now.
      await until(
        () => npm.stdout?.readableEnded === true && npm.stderr?.readableEnded === true,
        STOP_TIMEOUT_MS,
      );
      expect(output).not.toMatch(/oidc-provider WARNING/);
    },
    STOP_TIMEOUT_MS + 10_000,
  );
});
