/** Starts and stops the SDK-built resource server of test/helpers/set-receiver-app.ts in its own process. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const REPOSITORY_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** A bound on start-up under load, not a measure. */
const STARTUP_TIMEOUT_MS = 60_000;

export interface ReceiverProcess {
  readonly port: number;
  readonly url: string;
  /** SIGKILL; resolves once the process is gone. */
  kill(): Promise<void>;
  /** What the API answers for this token. */
  call(token: string): Promise<{ status: number; body: Record<string, unknown> }>;
  received(): Promise<Array<{ id: string; jtis: string[]; txns: string[]; reason: string }>>;
  /** POSTs a body to the push endpoint as a transmitter would. */
  push(body: string, headers?: Record<string, string>): Promise<{ status: number; body: string }>;
}

export function startReceiver(env: Record<string, string>): Promise<ReceiverProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/set-receiver-app.ts'], {
    cwd: REPOSITORY_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      TMPDIR: process.env.TMPDIR ?? '',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`receiver did not start: ${output}`));
    }, STARTUP_TIMEOUT_MS);
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`receiver exited with ${code}: ${output}`));
    });
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const line = /\{"listening":(\d+)\}/.exec(output);
      if (!line) return;
      clearTimeout(timer);
      const port = Number(line[1]);
      const url = `http://127.0.0.1:${port}`;
      resolve({
        port,
        url,
        kill: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.removeAllListeners('exit');
            child.once('exit', () => done());
            child.kill('SIGKILL');
          }),
        async call(token) {
          const response = await fetch(`${url}/api`, { headers: { authorization: `Bearer ${token}` } });
          return { status: response.status, body: (await response.json()) as Record<string, unknown> };
        },
        async received() {
          return (await (await fetch(`${url}/received`)).json()) as Awaited<
            ReturnType<ReceiverProcess['received']>
          >;
        },
        async push(body, headers = {}) {
          const response = await fetch(`${url}/security-events`, {
            method: 'POST',
            headers: { 'content-type': 'application/secevent+jwt', ...headers },
            body,
          });
          return { status: response.status, body: await response.text() };
        },
      });
    });
  });
}

/** Polls `check` until it holds; fails after `boundMs` (a bound on a loaded machine, not a measure). */
export async function eventually<T>(
  check: () => Promise<T>,
  holds: (value: T) => boolean,
  boundMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const value = await check();
    if (holds(value)) return value;
    if (Date.now() > deadline) {
      expect.fail(`condition not reached within ${boundMs} ms; last value: ${JSON.stringify(value)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
