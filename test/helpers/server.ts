/**
 * Starts the real service on a random loopback port against a fresh database: PostgreSQL when
 * DATABASE_URL is set (CI), else the embedded PGlite in a temporary directory. Each call gets
 * an empty schema, so test files never see each other's data.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp, MIGRATIONS_DIRECTORY } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { openDatabase, type Database } from '../../src/infra/database.js';
import { migrate } from '../../src/infra/migrate.js';

export interface TestServer {
  readonly app: FastifyInstance;
  readonly baseUrl: string;
  readonly config: Config;
  readonly database: Database;
  readonly adminToken: string;
  /** Stops the app but keeps the data, so `restart()` can prove nothing is lost. */
  restart(): Promise<TestServer>;
  close(): Promise<void>;
}

/** What a client of a running service needs: where it listens and the bootstrap admin token. */
export type ServiceAddress = Pick<TestServer, 'baseUrl' | 'adminToken'>;

export interface TestServerOptions {
  readonly env?: Record<string, string>;
  /** Reuse an existing data directory / schema instead of starting empty. */
  readonly keepData?: boolean;
  readonly dataDir?: string;
  readonly port?: number;
}

const TEST_KEK = randomBytes(32).toString('hex');

/** Empties the `public` schema, so the next migration starts from nothing. */
export async function resetSchema(database: Database): Promise<void> {
  await database.executeScript('DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;');
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'agent-sts-test-'));
  const adminToken = options.env?.ADMIN_TOKEN ?? 'test-admin-token-' + randomBytes(16).toString('hex');
  const port = options.port ?? 0;
  const env: Record<string, string> = {
    HOST: '127.0.0.1',
    PORT: String(port),
    DATA_DIR: dataDir,
    ADMIN_TOKEN: adminToken,
    KEY_ENCRYPTION_KEY: TEST_KEK,
    LOG_LEVEL: 'silent',
    ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
    // Rate-limit counters in a shared Redis must not leak from one test server into another.
    REDIS_KEY_PREFIX: `agent-sts-test:${randomBytes(6).toString('hex')}:`,
    ...options.env,
  };
  // The issuer must be known before listening; pick a free port first when none is given.
  if (port === 0) env.PORT = String(await freePort());
  env.ISSUER = options.env?.ISSUER ?? `http://127.0.0.1:${env.PORT}`;
  const config = loadConfig(env);
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.databasePoolSize,
  });
  if (!options.keepData && config.databaseUrl) await resetSchema(database);
  await migrate(database, MIGRATIONS_DIRECTORY);
  const app = await buildApp(config, database);
  await app.listen({ port: config.port, host: config.host });
  const server: TestServer = {
    app,
    baseUrl: config.issuer,
    config,
    database,
    adminToken,
    async restart() {
      await app.close();
      await database.close();
      return startTestServer({ ...options, env: { ...env }, keepData: true, dataDir, port: config.port });
    },
    async close() {
      await app.close();
      await database.close();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return server;
}

/** An empty, migrated database without a server, for storage tests; `close` also removes its files. */
export async function openMigratedDatabase(): Promise<{ database: Database; close(): Promise<void> }> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'agent-sts-db-'));
  const database = await openDatabase({ databaseUrl: process.env.DATABASE_URL ?? null, dataDir });
  await resetSchema(database);
  await migrate(database, MIGRATIONS_DIRECTORY);
  return {
    database,
    async close() {
      await database.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
