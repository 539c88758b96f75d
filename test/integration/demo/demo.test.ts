/**
 * `npm run demo` (issue #8 item 5) as a user runs it, twice on the same data dir: each run walks a
 * three-hop chain, prints it as a tree, prints the verified final token (subject alice, the actors
 * newest first), one refusal with its audit rule and where to see the chain in the console, and
 * exits 0. The demo always runs on the embedded PGlite, whatever DATABASE_URL says.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../helpers/server.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');
const SCRIPT = path.join(ROOT, 'scripts/demo.ts');
const dataDir = mkdtempSync(path.join(tmpdir(), 'agent-sts-demo-'));

/** A PGlite cold start under load takes a while. */
const RUN_TIMEOUT = 150_000;

function runDemo(port: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      TSX,
      [SCRIPT, '--exit', '--port', String(port), '--data-dir', dataDir],
      { cwd: ROOT, timeout: RUN_TIMEOUT, env: { ...process.env, LOG_LEVEL: 'error' } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function expectAFullWalk(output: { code: number; stdout: string; stderr: string }, port: number) {
  const { stdout } = output;
  expect(output.code, `${stdout}\n${output.stderr}`).toBe(0);
  const txn = /^txn +([0-9a-f-]{36})$/m.exec(stdout)?.[1];
  expect(txn, stdout).toBeDefined();

  const hops = stdout.split('\n').filter((line) => /^[│ ]*└─ /.test(line));
  expect(hops).toHaveLength(3);
  expect(hops[0]).toMatch(/demo-planner → demo-researcher .*depth 1 .*live/);
  expect(hops[1]).toMatch(/demo-researcher → demo-writer .*\[calendar\.read\] .*depth 2/);
  expect(hops[2]).toMatch(/demo-writer → https:\/\/calendar\.demo\.example\/api .*depth 3/);

  expect(stdout).toMatch(/^subject +alice$/m);
  expect(stdout).toMatch(/^actors +demo-writer ← demo-researcher ← demo-planner/m);
  expect(stdout).toMatch(/^OAuth error +400 invalid_scope/m);
  expect(stdout).toMatch(/^audit rule +scope_escalation /m);
  expect(stdout).toContain(`http://127.0.0.1:${port}/console/#/chains/${txn}`);
  return txn;
}

afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

describe('npm run demo', () => {
  it(
    'walks, verifies, refuses and points at the console; and again on the same data dir',
    async () => {
      const port = await freePort();
      const first = expectAFullWalk(await runDemo(port), port);
      const second = expectAFullWalk(await runDemo(port), port);
      expect(second).not.toBe(first);
    },
    2 * RUN_TIMEOUT + 10_000,
  );
});
