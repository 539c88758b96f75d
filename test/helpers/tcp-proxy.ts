/**
 * A loopback TCP proxy in front of PostgreSQL that a test can cut and restore, to observe how the
 * service behaves when its database goes away (SECURITY-CASES AV-01, AV-04).
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { startTestServer, type TestServer } from './server.js';

export interface TcpProxy {
  readonly port: number;
  /** Drops every open connection and refuses new ones. */
  cut(): void;
  /**
   * A network partition: connections stay open, old and new, but every byte either way is lost,
   * so nothing tells the service that the database has gone.
   */
  stall(): void;
  /** Ends a cut or a stall; connections that lived through a stall are dropped (their streams lost bytes). */
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let cut = false;
  let stalled = false;
  const server: Server = createServer((client) => {
    if (cut) return client.destroy();
    const upstream = createConnection({ host: targetHost, port: targetPort });
    sockets.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.on('data', (chunk) => stalled || upstream.write(chunk));
    upstream.on('data', (chunk) => stalled || client.write(chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const cutAll = () => {
    cut = true;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    cut: cutAll,
    stall() {
      stalled = true;
    },
    restore() {
      if (stalled) cutAll();
      stalled = false;
      cut = false;
    },
    close() {
      cutAll();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A test server whose every database connection goes through a proxy the test can cut: the way
 * to take PostgreSQL away from a running service without stopping it for everyone else.
 */
export async function startTestServerBehindDatabaseProxy(
  databaseUrl: string,
  env: Readonly<Record<string, string>> = {},
): Promise<{ server: TestServer; proxy: TcpProxy }> {
  const target = new URL(databaseUrl);
  const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
  const proxied = new URL(databaseUrl);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(proxy.port);
  const server = await startTestServer({ env: { ...env, DATABASE_URL: proxied.toString() } });
  return { server, proxy };
}
