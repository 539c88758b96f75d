/**
 * SECURITY-CASES RL-06: a client that sends its headers (slowloris) or its body (slow drip) a
 * byte at a time holds a connection and a parser for as long as the server lets it. The whole
 * request must arrive within REQUEST_TIMEOUT_MS; a slower one is cut off with 408 (or the
 * connection closed) close to that time, not at Node's next 30 s sweep, and other clients are
 * served meanwhile. A body that does not match its Content-Length is refused with 400.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../helpers/server.js';

const REQUEST_TIMEOUT_MS = 1000;
/** How long past the timeout a slow client may still hold its connection. */
const CUT_OFF_WITHIN_MS = 3 * REQUEST_TIMEOUT_MS;
const DRIP_EVERY_MS = 100;

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ env: { REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) } });
});

afterAll(async () => {
  await server?.close();
});

interface RawConnection {
  readonly socket: Socket;
  /** Everything the server sent, once it closed the connection; null if it had not by `deadlineMs`. */
  readonly ended: Promise<string | null>;
}

function openRaw(deadlineMs: number): Promise<RawConnection> {
  const { hostname, port } = new URL(server.baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => {
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      const ended = new Promise<string | null>((done) => {
        const timer = setTimeout(() => done(null), deadlineMs);
        socket.once('close', () => {
          clearTimeout(timer);
          done(Buffer.concat(chunks).toString('latin1'));
        });
      });
      resolve({ socket, ended });
    });
    socket.once('error', reject);
  });
}

/** Writes `text` one byte every DRIP_EVERY_MS until it is written or the socket is closed. */
function drip(socket: Socket, text: string): { stop: () => void } {
  let index = 0;
  const timer = setInterval(() => {
    if (index >= text.length || socket.destroyed) return clearInterval(timer);
    socket.write(text[index++] ?? '', () => undefined);
  }, DRIP_EVERY_MS);
  return { stop: () => clearInterval(timer) };
}

function requestHead(extraHeaders: string): string {
  return `POST /token HTTP/1.1\r\nHost: ${new URL(server.baseUrl).host}\r\n${extraHeaders}`;
}

/** Whether the server cut the connection off as a request timeout: a 408, or closed without an answer. */
function expectTimedOut(received: string | null): void {
  expect(received, 'the server still held the connection').not.toBeNull();
  if (received !== '') expect(received).toMatch(/^HTTP\/1\.1 408 /);
}

async function expectServingOthers(): Promise<void> {
  expect((await fetch(`${server.baseUrl}/healthz`)).status).toBe(200);
  expect((await fetch(`${server.baseUrl}/jwks`)).status).toBe(200);
}

/** Sends `head` at once and drips `rest`; the server must cut it off and serve others meanwhile. */
async function expectCutOffWhileOthersAreServed(head: string, rest: string): Promise<void> {
  const { socket, ended } = await openRaw(CUT_OFF_WITHIN_MS);
  socket.write(head);
  const dripping = drip(socket, rest);
  try {
    await expectServingOthers();
    expectTimedOut(await ended);
  } finally {
    dripping.stop();
    socket.destroy();
  }
  await expectServingOthers();
}

describe('slow clients (RL-06)', () => {
  it('cuts off a body dripped a byte at a time soon after the request timeout', async () => {
    // 30 s of body at the drip rate: only the server's timeout ends it within the deadline.
    const body = 'grant_type=client_credentials&'.padEnd(30_000 / DRIP_EVERY_MS, 'x');
    await expectCutOffWhileOthersAreServed(
      requestHead(
        `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n`,
      ),
      body,
    );
  });

  it('cuts off headers dripped a byte at a time (slowloris) soon after the request timeout', async () => {
    await expectCutOffWhileOthersAreServed(
      requestHead(''),
      `X-Slow: ${'a'.repeat(30_000 / DRIP_EVERY_MS)}\r\n\r\n`,
    );
  });

  it('cuts off a body shorter than its Content-Length', async () => {
    const { socket, ended } = await openRaw(CUT_OFF_WITHIN_MS);
    socket.write(
      requestHead(
        'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type=client_credentials',
      ),
    );
    try {
      expectTimedOut(await ended);
    } finally {
      socket.destroy();
    }
  });

  it.each([
    ['two different Content-Length values', 'Content-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef'],
    ['a Content-Length that is not a number', 'Content-Length: five\r\n\r\nabcde'],
    [
      'Content-Length beside Transfer-Encoding',
      'Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    ],
  ])('refuses %s with 400 and closes the connection', async (_name, rest) => {
    const { socket, ended } = await openRaw(CUT_OFF_WITHIN_MS);
    socket.write(requestHead(`Content-Type: application/x-www-form-urlencoded\r\n${rest}`));
    try {
      expect(await ended).toMatch(/^HTTP\/1\.1 400 /);
    } finally {
      socket.destroy();
    }
    expect(await server.database.prisma.issuedToken.count()).toBe(0);
  });
});
