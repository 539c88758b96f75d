/**
 * Runs the admin CLI as a user does: the real executable `dist/cli/main.js`, in its own Node
 * process, with only the environment it is given. `buildCli` compiles src/cli into dist/ with the
 * project's build configuration (tsconfig.build.json), as `npm run build` does, but only the CLI,
 * which imports nothing of the server, so the tests do not wait for a full build.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const CLI_BINARY = path.join(ROOT, 'dist/cli/main.js');

export async function buildCli(): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'agent-sts-cli-build-'));
  const config = path.join(dir, 'tsconfig.json');
  writeFileSync(
    config,
    JSON.stringify({
      extends: path.join(ROOT, 'tsconfig.build.json'),
      compilerOptions: {
        rootDir: path.join(ROOT, 'src'),
        outDir: path.join(ROOT, 'dist'),
        // Resolved from the config's directory otherwise, which is a temporary one.
        typeRoots: [path.join(ROOT, 'node_modules/@types')],
        sourceMap: false,
      },
      include: [path.join(ROOT, 'src/cli/**/*.ts')],
    }),
  );
  try {
    await new Promise<void>((resolve, reject) => {
      execFile(
        process.execPath,
        [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', config],
        { cwd: ROOT },
        (error, stdout, stderr) => (error ? reject(new Error(`tsc failed:\n${stdout}${stderr}`)) : resolve()),
      );
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (!readFileSync(CLI_BINARY, 'utf8').startsWith('#!/usr/bin/env node\n')) {
    throw new Error('dist/cli/main.js lost its shebang');
  }
  return CLI_BINARY;
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Only what the CLI is given: never the AGENT_STS_* of the shell that runs the tests. */
function environment(env: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '', ...env };
}

export function runCli(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  input?: string,
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [CLI_BINARY, ...args],
      { env: environment(env), timeout: 20_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

/** A long-running CLI (`audit --follow`): its output so far, waiting for text, and its exit. */
export interface CliProcess {
  readonly child: ChildProcess;
  output(): string;
  waitFor(predicate: (stdout: string) => boolean, timeoutMs?: number): Promise<void>;
  exited(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

export function spawnCli(args: readonly string[], env: Readonly<Record<string, string>>): CliProcess {
  const child = spawn(process.execPath, [CLI_BINARY, ...args], { env: environment(env), stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    output: () => stdout,
    async waitFor(predicate, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(stdout)) {
        if (Date.now() > deadline || child.exitCode !== null) {
          throw new Error(`CLI output never matched; stdout:\n${stdout}\nstderr:\n${stderr}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async exited(timeoutMs = 10_000) {
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const result = await exit;
      clearTimeout(timer);
      return { ...result, stderr };
    },
  };
}
