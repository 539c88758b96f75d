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

export interface Database extends SqlSession {
  readonly prisma: PrismaClient;
  readonly kind: 'postgresql' | 'pglite';
  /** Runs `work` on one dedicated connection (session-level locks need that). */
  withSession<T>(work: (session: SqlSession) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export async function openDatabase(options: {
  databaseUrl: string | null;
  dataDir: string;
}): Promise<Database> {
  if (options.databaseUrl) return openPostgres(options.databaseUrl);
  return openPglite(path.join(options.dataDir, 'pglite'));
}

async function openPostgres(databaseUrl: string): Promise<Database> {
  // A bounded pool that fails fast when PostgreSQL is away, so requests answer 503 quickly (AV-04).
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: 10,
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
    // PGlite is a single connection: every call already runs on the same session.
    withSession: (work) => work(session),
    async close() {
      await prisma.$disconnect();
      await client.close();
    },
  };
}
