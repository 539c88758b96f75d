/**
 * One Prisma client over either PostgreSQL (DATABASE_URL, through @prisma/adapter-pg) or the
 * embedded PGlite under DATA_DIR (through pglite-prisma-adapter). Same schema, same migrations.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import pg from 'pg';
import { PrismaClient } from './generated/prisma/client.js';

export type { PrismaClient };
export type Transaction = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];

/** Plain SQL outside Prisma, for migrations and health checks. */
export interface SqlSession {
  /** Runs a multi-statement SQL script. */
  executeScript(sql: string): Promise<void>;
  /** Runs one parameterised statement and returns its rows. */
  query<Row>(sql: string, params?: unknown[]): Promise<Row[]>;
}

/** What a LISTEN session reports (change-feed.ts). */
export interface ListenHandlers {
  onNotification(payload: string): void;
  /** The session is lost (called at most once, never after `close`); it does not reconnect by itself. */
  onEnd(error?: Error): void;
}

export interface ListenSession {
  close(): Promise<void>;
}

/**
 * The hot path's SQL (ADR 0021): one statement straight to the driver, without Prisma's query
 * runtime. On PostgreSQL it is prepared once per pooled connection under `name` (pg's named
 * statements), so PostgreSQL parses and plans it once per connection instead of per request.
 */
export interface PreparedSql {
  prepared<Row>(name: string, sql: string, params: readonly unknown[]): Promise<Row[]>;
}

export interface Database extends SqlSession, PreparedSql {
  readonly prisma: PrismaClient;
  readonly kind: 'postgresql' | 'pglite';
  /** Runs `work` on one dedicated connection (session-level locks need that). */
  withSession<T>(work: (session: SqlSession) => Promise<T>): Promise<T>;
  /**
   * LISTENs on `channel`. On PostgreSQL a dedicated connection outside the pool (LISTEN belongs to
   * a session, and a pooled one goes back to others), named `applicationName` in
   * pg_stat_activity; on PGlite the one in-process session.
   */
  listen(channel: string, handlers: ListenHandlers, applicationName: string): Promise<ListenSession>;
  close(): Promise<void>;
}

/** Pool size per instance unless DATABASE_POOL_SIZE says otherwise. */
export const DEFAULT_POOL_SIZE = 10;
/**
 * A LISTEN connection checks it is still there this often: a connection gone silent (a partition,
 * no reset) would otherwise stop the notifications without any error for as long as TCP waits.
 */
const LISTEN_HEARTBEAT_MS = 15_000;

export async function openDatabase(options: {
  databaseUrl: string | null;
  dataDir: string;
  /** Most pooled connections to PostgreSQL (the LISTEN connection comes on top). */
  poolSize?: number;
}): Promise<Database> {
  if (options.databaseUrl) return openPostgres(options.databaseUrl, options.poolSize ?? DEFAULT_POOL_SIZE);
  return openPglite(path.join(options.dataDir, 'pglite'));
}

/** LISTEN on a connection of its own; its loss (error, end, failed heartbeat) is reported once. */
async function listenOnOwnConnection(
  databaseUrl: string,
  channel: string,
  handlers: ListenHandlers,
  applicationName: string,
): Promise<ListenSession> {
  const client = new pg.Client({
    connectionString: databaseUrl,
    application_name: applicationName,
    connectionTimeoutMillis: 3_000,
    query_timeout: 6_000,
    keepAlive: true,
  });
  let ended = false;
  let heartbeat: NodeJS.Timeout | undefined = undefined;
  const end = (error?: Error) => {
    clearInterval(heartbeat);
    if (ended) return;
    ended = true;
    client.end().catch(() => {});
    handlers.onEnd(error);
  };
  client.on('notification', (message) => {
    if (message.channel === channel) handlers.onNotification(message.payload ?? '');
  });
  client.on('error', end);
  client.on('end', () => end());
  try {
    await client.connect();
    await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
  } catch (error) {
    ended = true;
    await client.end().catch(() => {});
    throw error;
  }
  heartbeat = setInterval(() => {
    client.query('SELECT 1').catch((error: unknown) => end(error as Error));
  }, LISTEN_HEARTBEAT_MS);
  heartbeat.unref();
  return {
    async close() {
      clearInterval(heartbeat);
      ended = true;
      await client.end().catch(() => {});
    },
  };
}

async function openPostgres(databaseUrl: string, poolSize: number): Promise<Database> {
  // A bounded pool that fails fast when PostgreSQL is away, so requests answer 503 quickly (AV-04).
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: poolSize,
    connectionTimeoutMillis: 3_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: 5_000,
    // statement_timeout is the server's: a connection gone silent (a partition, no reset) would
    // hold its request until TCP gives up, minutes later. The client gives up a little after it.
    query_timeout: 6_000,
  });
  // An idle client losing its connection must not crash the process.
  pool.on('error', () => {});
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    prisma,
    kind: 'postgresql',
    async executeScript(sql) {
      await pool.query(sql);
    },
    async query<Row>(sql: string, params: unknown[] = []) {
      return (await pool.query(sql, params)).rows as Row[];
    },
    async prepared<Row>(name: string, sql: string, params: readonly unknown[]) {
      return (await pool.query({ name, text: sql, values: [...params] })).rows as Row[];
    },
    async withSession(work) {
      const client = await pool.connect();
      try {
        return await work({
          async executeScript(sql) {
            await client.query(sql);
          },
          async query<Row>(sql: string, params: unknown[] = []) {
            return (await client.query(sql, params)).rows as Row[];
          },
        });
      } finally {
        client.release();
      }
    },
    listen: (channel, handlers, applicationName) =>
      listenOnOwnConnection(databaseUrl, channel, handlers, applicationName),
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

async function openPglite(directory: string): Promise<Database> {
  mkdirSync(directory, { recursive: true });
  const client = await PGlite.create(directory);
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(client) });
  const session: SqlSession = {
    async executeScript(sql) {
      await client.exec(sql);
    },
    async query<Row>(sql: string, params: unknown[] = []) {
      return (await client.query<Row>(sql, params)).rows;
    },
  };
  return {
    prisma,
    kind: 'pglite',
    ...session,
    // One in-process session: nothing to save by naming statements.
    prepared: (_name, sql, params) => session.query(sql, [...params]),
    // PGlite is a single connection: every call already runs on the same session.
    withSession: (work) => work(session),
    // One process owns the data directory, so every listener is in it: the session never drops.
    async listen(channel, handlers) {
      const unlisten = await client.listen(channel, handlers.onNotification);
      return { close: () => unlisten() };
    },
    async close() {
      await prisma.$disconnect();
      await client.close();
    },
  };
}
