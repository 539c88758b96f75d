/**
 * The real executable (`src/server.ts`) in a child process, so a test can do to it what an
 * operating system does: SIGKILL it mid-request and start it again on the same database. The
 * server migrates its own schema at start-up; `prepareChildDatabase` gives it an empty one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../../src/infra/database.js';
import { freePort, resetSchema, type ServiceAddress } from './server.js';

const REPOSITORY_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/**
 * A bound, not a measure: a cold PGlite start (initdb in WebAssembly) took over a minute on the
 * shared 2-core machines under load, against ~5 s when idle.
 */
export const STARTUP_TIMEOUT_MS = 120_000;
/** Enough of the child's output to say why it did not start. */
const OUTPUT_TAIL_CHARS = 4_000;

export interface ChildServer extends ServiceAddress {
  /** The environment it was started with; `startChildServer(server.env)` restarts it in place. */
  readonly env: Readonly<Record<string, string>>;
  /** SIGKILL: no shutdown hook, no flush, no pool close. Resolves once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM, the graceful path; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * The environment of a child server on DATABASE_URL when set, else on PGlite under `dataDir`. The
 * port is fixed here so that a restart keeps the issuer, and with it the tokens issued before.
 */
export async function childServerEnv(
  dataDir: string,
  extra: Readonly<Record<string, string>> = {},
): Promise<Record<string, string>> {
  const port = String(await freePort());
  return {
    HOST: '127.0.0.1',
    PORT: port,
    ISSUER: `http://127.0.0.1:${port}`,
    DATA_DIR: dataDir,
    ADMIN_TOKEN: 'child-admin-token-' + randomBytes(16).toString('hex'),
    KEY_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    LOG_LEVEL: 'warn',
    ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
    REDIS_KEY_PREFIX: `agent-sts-test:${randomBytes(6).toString('hex')}:`,
    ...extra,
  };
}

/** On PostgreSQL, an empty `public` schema for the child to migrate; PGlite starts from its empty DATA_DIR. */
export async function prepareChildDatabase(env: Readonly<Record<string, string>>): Promise<void> {
  const databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) return;
  const database = await openDatabase({ databaseUrl, dataDir: env.DATA_DIR ?? '' });
  try {
    await resetSchema(database);
  } finally {
    await database.close();
  }
}

/** Starts `node --import tsx src/server.ts` and resolves once `/readyz` answers 200. */
export async function startChildServer(env: Readonly<Record<string, string>>): Promise<ChildServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: REPOSITORY_ROOT,
    // Only what the child needs to run, and the configuration under test: nothing of vitest's.
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      TMPDIR: process.env.TMPDIR ?? '',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const baseUrl = env.ISSUER ?? `http://${env.HOST}:${env.PORT}`;
  try {
    await waitUntilReady(baseUrl, child, () => output);
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw error;
  }
  return {
    baseUrl,
    adminToken: env.ADMIN_TOKEN ?? '',
    env,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Resolves once `/readyz` answers 200; fails with the output's tail if the child exits first. */
export async function waitUntilReady(
  baseUrl: string,
  child: ChildProcess,
  output: () => string,
  timeoutMs: number = STARTUP_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `the server exited during start-up (${child.exitCode ?? child.signalCode}):\n${output()}`,
      );
    }
    const ready = await fetch(`${baseUrl}/readyz`).then(
      (response) => response.status === 200,
      () => false,
    );
    if (ready) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the server was not ready within ${timeoutMs} ms:\n${output()}`);
}
