/**
 * The executable: read the configuration, open and migrate the database, build the app, listen,
 * and close gracefully on SIGTERM/SIGINT (stop accepting, finish in-flight requests, close the pool).
 */
import { buildApp, MIGRATIONS_DIRECTORY } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { openDatabase } from './infra/database.js';
import { migrate } from './infra/migrate.js';
import { currentRuntime, unsupportedRuntimeNotice } from './runtime.js';

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`agent-sts: invalid configuration: ${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }

  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.databasePoolSize,
  });
  const applied = await migrate(database, MIGRATIONS_DIRECTORY);
  const app = await buildApp(config, database);
  if (applied.length > 0) app.log.info({ migrations: applied }, 'applied database migrations');
  for (const warning of config.warnings) app.log.warn(`DEVELOPMENT DEFAULT: ${warning}`);
  const runtimeNotice = unsupportedRuntimeNotice(currentRuntime(), 'npm start');
  if (runtimeNotice) app.log.warn(runtimeNotice);

  let closing = false;
  const close = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    try {
      await app.close();
      await database.close();
      process.exit(0);
    } catch (error) {
      app.log.error({ err: error }, 'error during shutdown');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void close('SIGTERM'));
  process.once('SIGINT', () => void close('SIGINT'));

  await app.listen({ port: config.port, host: config.host });
  app.log.info({ issuer: config.issuer, database: database.kind }, 'agent-sts is ready');
}

main().catch((error: unknown) => {
  process.stderr.write(
    `agent-sts: failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
