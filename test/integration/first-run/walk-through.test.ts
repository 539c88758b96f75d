/**
 * The README's walk-through, run as the README shows it, with bash, curl and jq, against a running
 * service: it goes through to a verified two-hop token, and a second run stops at its first
 * failing step (nothing carried forward as `null`) and says how to start over.
 */
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unmet, type Requirement } from '../../helpers/requirements.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function installed(command: string): boolean {
  try {
    execFileSync(command, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** What the README asks of the reader's machine; CI has them, and fails rather than skips. */
const CURL_AND_JQ: Requirement = {
  met: (installed('curl') && installed('jq')) || Boolean(process.env.CI),
  reason:
    'curl or jq is not installed: the README walk-through calls the service with curl and reads answers with jq',
};
const README_BLOCK_START = '```bash\nset -euo pipefail\n';

/** The README's code block that starts with `set -euo pipefail`, without its fences. */
function readmeWalkThrough(): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(README_BLOCK_START);
  const end = readme.indexOf('```\n', start + README_BLOCK_START.length);
  if (start < 0 || end < 0) throw new Error('no walk-through block in README.md');
  return readme.slice(start + '```bash\n'.length, end);
}

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function runBash(file: string, cwd: string, env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile('bash', [file], { cwd, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe.skipIf(unmet(CURL_AND_JQ))('the README walk-through', () => {
  let server: TestServer;
  let work: string;
  let walkThrough: string;
  let first: Run;

  beforeAll(async () => {
    server = await startTestServer();
    // A user's checkout as far as the walk-through reads it: its two scripts, the dependencies
    // they import, and the admin token the first start wrote under .data.
    work = mkdtempSync(path.join(tmpdir(), 'agent-sts-walk-through-'));
    for (const script of ['demo-idp.mjs', 'verify-token.mjs']) {
      cpSync(path.join(ROOT, 'scripts', script), path.join(work, 'scripts', script));
    }
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(work, 'node_modules'));
    mkdirSync(path.join(work, '.data'));
    writeFileSync(path.join(work, '.data', 'admin-token'), server.adminToken);
    walkThrough = path.join(work, 'walk-through.sh');
    writeFileSync(walkThrough, readmeWalkThrough());
    first = await runBash(walkThrough, work, { STS: server.baseUrl });
  });

  afterAll(async () => {
    await server?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('is scripts/walk-through.sh, from set -euo pipefail on', () => {
    const script = readFileSync(path.join(ROOT, 'scripts', 'walk-through.sh'), 'utf8');
    expect(script.slice(script.indexOf('\nset -euo pipefail\n') + 1)).toBe(readmeWalkThrough());
  });

  it('runs to a token for the API that names alice via agent-b via agent-a', () => {
    expect(first.code, first.stderr).toBe(0);
    const verified = JSON.parse(first.stdout.slice(first.stdout.indexOf('{\n  "header"'))) as {
      claims: Record<string, unknown>;
    };
    expect(verified.claims).toMatchObject({
      sub: 'alice',
      aud: 'https://calendar.example/api',
      scope: 'calendar.read',
      act: { sub: 'agent-b', act: { sub: 'agent-a' } },
    });
    expect(first.stderr).toContain('== 8. Saved for the sections below');
  });

  it('saves its variables for the sections below', async () => {
    const reader = path.join(work, 'read-env.sh');
    writeFileSync(reader, 'source .data/walk-through.env\necho "$HOP2"\n');
    const read = await runBash(reader, work, {});
    expect(read.stdout.trim()).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it('stops at the first failing step, with the answer and how to start over', async () => {
    const second = await runBash(walkThrough, work, { STS: server.baseUrl });
    expect(second.code).not.toBe(0);
    expect(second.stderr).toContain('walk-through stopped at step "1. The API the chain ends at');
    expect(second.stderr).toMatch(/"status":409/);
    expect(second.stderr).toContain('To start over');
    expect(second.stderr).toContain('rm -rf .data');
    expect(second.stderr).not.toContain('== 2.');
  });

  it('stops before anything else when the server does not answer', async () => {
    const unreachable = await runBash(walkThrough, work, { STS: 'http://127.0.0.1:9' });
    expect(unreachable.code).not.toBe(0);
    expect(unreachable.stderr).toContain('walk-through stopped at step "0. agent-sts answers');
    expect(unreachable.stderr).not.toContain('== 1.');
  });
});
