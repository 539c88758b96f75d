/**
 * The admin CLI end to end (issue #8): the real executable, built from src/cli, against a real
 * server, as an operator or a script runs it. Each command is checked in both output modes
 * (`--json`: exactly the API's answer; otherwise the human text), and each exit code scripts
 * rely on is provoked for real.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminApi, clientCredentials, mintServiceToken, registerOperator } from '../admin/admin-client.js';
import {
  disableAgent,
  registerAgent,
  registerResource,
  registerTrustedIssuer,
  uniqueSuffix,
} from '../../helpers/fixtures.js';
import {
  agentToken,
  createExternalIssuer,
  decodeJwt,
  exchange,
  generateSigningKey,
  type TestAgent,
} from '../../helpers/oauth.js';
import { freePort, startTestServer, type TestServer } from '../../helpers/server.js';
import { buildCli, runCli, spawnCli, type CliResult } from './cli-runner.js';

const suffix = uniqueSuffix();
let server: TestServer;
let env: Record<string, string>;
let scratch: string;

beforeAll(async () => {
  [server] = await Promise.all([startTestServer(), buildCli()]);
  env = { AGENT_STS_URL: server.baseUrl, AGENT_STS_ADMIN_TOKEN: server.adminToken };
  scratch = mkdtempSync(path.join(tmpdir(), 'agent-sts-cli-'));
}, 120_000);

afterAll(async () => {
  await server?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const cli = (...args: string[]) => runCli(args, env);
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

function json(result: CliResult): unknown {
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
}

describe('agents', { timeout: 180_000 }, () => {
  it('runs the whole lifecycle; --json prints exactly what the API answers', async () => {
    const api = adminApi(server);
    const id = `cli-agent-${suffix}`;
    await registerResource(server, { id: `https://api-${suffix}.example`, scopes: ['read', 'write'] });

    const created = json(
      await cli(
        'agents',
        'create',
        '--json',
        '--id',
        id,
        '--name',
        'Planner',
        '--scopes',
        'read,write',
        '--audiences',
        `https://api-${suffix}.example`,
        '--ttl',
        '600',
      ),
    ) as Record<string, unknown>;
    const { clientSecret, ...stored } = created;
    expect(typeof clientSecret).toBe('string');
    expect(stored).toEqual((await api.get(`/admin/agents/${id}`)).body);
    expect(stored).toMatchObject({
      id,
      name: 'Planner',
      allowedScopes: ['read', 'write'],
      tokenTtlSeconds: 600,
      status: 'enabled',
    });

    const listed = json(await cli('agents', 'list', '--json', '--limit', '200'));
    expect(listed).toEqual((await api.get('/admin/agents?limit=200')).body);

    expect(json(await cli('agents', 'show', id, '--json'))).toEqual(
      (await api.get(`/admin/agents/${id}`)).body,
    );

    const updated = json(
      await cli('agents', 'update', id, '--scopes', 'read', '--owner', 'team-x', '--json'),
    );
    expect(updated).toEqual((await api.get(`/admin/agents/${id}`)).body);
    expect(updated).toMatchObject({ allowedScopes: ['read'], owner: 'team-x', name: 'Planner' });

    expect(json(await cli('agents', 'disable', id, '--json'))).toMatchObject({ id, status: 'disabled' });
    expect(json(await cli('agents', 'enable', id, '--json'))).toMatchObject({ id, status: 'enabled' });

    const rotated = json(await cli('agents', 'rotate-secret', id, '--json')) as Record<string, unknown>;
    expect(typeof rotated.clientSecret).toBe('string');
    expect(rotated.clientSecret).not.toBe(clientSecret);
    expect(
      (await clientCredentials(server, id, rotated.clientSecret as string, `https://api-${suffix}.example`))
        .status,
    ).toBe(200);
    expect(
      (await clientCredentials(server, id, clientSecret as string, `https://api-${suffix}.example`)).status,
    ).toBe(401);

    expect(await cli('agents', 'delete', id, '--json')).toEqual({ code: 0, stdout: '', stderr: '' });
    expect((await api.get(`/admin/agents/${id}`)).status).toBe(404);
    expect((await cli('agents', 'show', id)).code).toBe(3);
  });

  it('prints tables, details and the new secret once for people', async () => {
    const id = `cli-human-${suffix}`;
    const created = await cli(
      'agents',
      'create',
      '--id',
      id,
      '--name',
      'Human view',
      '--scopes',
      'a b',
      '--owner',
      'ops',
    );
    expect(created.code, created.stderr).toBe(0);
    const secret =
      /client secret \(shown this once; store it now, it cannot be read again\):\n {2}(\S+)\n/.exec(
        created.stdout,
      )?.[1];
    expect(secret).toMatch(/^\S{20,}$/);
    expect(created.stdout).toMatch(
      new RegExp(`^created agent ${id}\\n\\nid +${id}\\nname +Human view\\nstatus +enabled\\n`),
    );
    expect(created.stdout).toMatch(/\nscopes +a, b\n/);

    const list = await cli('agents', 'list', '--limit', '200');
    expect(list.stdout.split('\n')[0]).toMatch(/^ID +NAME +STATUS +AUTH +SCOPES +AUDIENCES$/);
    expect(list.stdout).toMatch(new RegExp(`\\n${id} +Human view +enabled +client_secret_basic +a, b +-\\n`));

    const disabled = await cli('agents', 'disable', id);
    expect(disabled.stdout).toMatch(new RegExp(`^disabled agent ${id}\\n`));
    expect(disabled.stdout).toMatch(/\nstatus +disabled\n/);
    expect(disabled.stdout).not.toContain('client secret');

    const shown = await cli('agents', 'show', id);
    expect(shown.stdout).toMatch(/^id +cli-human-/);
    expect(shown.stdout).not.toContain(secret);

    const rotated = await cli('agents', 'rotate-secret', id);
    expect(rotated.stdout).toMatch(
      new RegExp(`^rotated the secret of agent ${id}\\n\\nclient secret \\(shown this once`),
    );

    expect(await cli('agents', 'delete', id)).toEqual({
      code: 0,
      stdout: `deleted agent ${id}\n`,
      stderr: '',
    });
  });

  it('takes a body from --from-file (or stdin), flags overriding it', async () => {
    const key = await generateSigningKey();
    const jwksFile = path.join(scratch, 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify(key.publicJwk));
    const bodyFile = path.join(scratch, 'agent.json');
    writeFileSync(
      bodyFile,
      JSON.stringify({ id: `cli-file-${suffix}`, name: 'from file', allowedScopes: ['x'] }),
    );
    const created = json(
      await cli(
        'agents',
        'create',
        '--from-file',
        bodyFile,
        '--name',
        'flag wins',
        '--auth-method',
        'private_key_jwt',
        '--jwks-file',
        jwksFile,
        '--json',
      ),
    );
    expect(created).toMatchObject({
      id: `cli-file-${suffix}`,
      name: 'flag wins',
      allowedScopes: ['x'],
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwks: { keys: [key.publicJwk] },
    });
    expect(created).not.toHaveProperty('clientSecret');

    const piped = await runCli(
      ['agents', 'update', `cli-file-${suffix}`, '--from-file', '-', '--json'],
      env,
      '{"description":"piped"}',
    );
    expect(json(piped)).toMatchObject({ description: 'piped', name: 'flag wins' });
  });
});

describe('resources and trusted issuers', { timeout: 180_000 }, () => {
  it('creates, lists, shows, updates and deletes a resource', async () => {
    const id = `https://res-${suffix}.example/api`;
    const created = await cli('resources', 'create', '--id', id, '--name', 'Res', '--scopes', 'r1,r2');
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/\nscopes +r1, r2\n/);
    expect(json(await cli('resources', 'show', id, '--json'))).toEqual(
      (await adminApi(server).get(`/admin/resources/${encodeURIComponent(id)}`)).body,
    );
    expect((await cli('resources', 'list')).stdout).toMatch(
      new RegExp(`\\n${id.replace(/[./]/g, '\\$&')} +Res +r1, r2\\n`),
    );
    expect(json(await cli('resources', 'update', id, '--scopes', 'r1', '--json'))).toMatchObject({
      id,
      scopes: ['r1'],
    });
    expect((await cli('resources', 'delete', id)).stdout).toBe(`deleted resource ${id}\n`);
    expect((await cli('resources', 'show', id)).code).toBe(3);
  });

  it('has no disable for resources: a usage error', async () => {
    const result = await cli('resources', 'disable', 'x');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown command 'disable'");
  });

  it('manages a trusted issuer', async () => {
    const idp = await createExternalIssuer(`https://idp-cli-${suffix}.example`);
    const jwksFile = path.join(scratch, 'idp.json');
    writeFileSync(jwksFile, JSON.stringify(idp.jwks));
    const created = json(
      await cli(
        'trusted-issuers',
        'create',
        '--id',
        `idp-${suffix}`,
        '--issuer',
        idp.issuer,
        '--jwks-file',
        jwksFile,
        '--audiences',
        `https://sts-${suffix}.example`,
        '--max-depth',
        '2',
        '--json',
      ),
    );
    expect(created).toMatchObject({
      id: `idp-${suffix}`,
      issuer: idp.issuer,
      maxDelegationDepth: 2,
      scopeClaim: 'scope',
    });
    const shown = await cli('trusted-issuers', 'show', `idp-${suffix}`);
    expect(shown.stdout).toMatch(new RegExp(`\\nkeys +1 inline \\(${idp.kid}\\)\\n`));
    expect(
      json(
        await cli(
          'trusted-issuers',
          'update',
          `idp-${suffix}`,
          '--max-depth',
          'none',
          '--scope-claim',
          'scp',
          '--json',
        ),
      ),
    ).toMatchObject({
      maxDelegationDepth: null,
      scopeClaim: 'scp',
    });
    expect((await cli('trusted-issuers', 'list')).stdout).toContain(`idp-${suffix}`);
    expect((await cli('trusted-issuers', 'delete', `idp-${suffix}`)).code).toBe(0);
  });
});

describe('exit codes and errors', { timeout: 180_000 }, () => {
  it('3 for not found, with the problem document on stderr', async () => {
    const result = await cli('agents', 'show', `nobody-${suffix}`);
    expect(result).toEqual({
      code: 3,
      stdout: '',
      stderr: `error: Not Found (404, not_found)\n  no agent "nobody-${suffix}"\n`,
    });
    const machine = await cli('agents', 'show', `nobody-${suffix}`, '--json');
    expect(machine.code).toBe(3);
    expect(JSON.parse(machine.stderr)).toMatchObject({ status: 404, code: 'not_found', title: 'Not Found' });
  });

  it('4 for a bad token, a token without sts:admin, or none at all', async () => {
    const bad = await runCli(['agents', 'list'], {
      AGENT_STS_URL: server.baseUrl,
      AGENT_STS_ADMIN_TOKEN: 'wrong-token',
    });
    expect(bad.code).toBe(4);
    expect(bad.stderr).toMatch(/^error: Unauthorized \(401/);

    const operator = await registerOperator(server, `cli-ops-${suffix}`, { allowedScopes: ['read'] });
    const { token: withoutAdminScope } = await mintServiceToken(server, {
      clientId: `cli-ops-${suffix}`,
      aud: server.config.issuer,
      scope: 'read',
    });
    const forbidden = await runCli(['keys', 'list'], {
      AGENT_STS_URL: server.baseUrl,
      AGENT_STS_ADMIN_TOKEN: withoutAdminScope,
    });
    expect(forbidden.code).toBe(4);
    expect(forbidden.stderr).toMatch(/^error: Forbidden \(403/);

    const admin = await clientCredentials(
      server,
      `cli-ops-${suffix}`,
      operator.body.clientSecret,
      server.config.issuer,
    );
    const allowed = await runCli(['keys', 'list', '--json'], {
      AGENT_STS_URL: server.baseUrl,
      AGENT_STS_ADMIN_TOKEN: admin.body.access_token,
    });
    expect(allowed.code, allowed.stderr).toBe(0);

    const none = await runCli(['agents', 'list'], { AGENT_STS_URL: server.baseUrl });
    expect(none.code).toBe(4);
    expect(none.stderr).toContain('no admin token');
  });

  it('5 for a conflict or a validation failure', async () => {
    const id = `cli-dup-${suffix}`;
    expect((await cli('agents', 'create', '--id', id, '--name', 'one')).code).toBe(0);
    const again = await cli('agents', 'create', '--id', id, '--name', 'two');
    expect(again.code).toBe(5);
    expect(again.stderr).toMatch(/^error: Conflict \(409, conflict\)/);
    const invalid = await cli('agents', 'create', '--name', 'x', '--ttl', '99999');
    expect(invalid.code).toBe(5);
    expect(invalid.stderr).toMatch(
      /^error: Bad Request \(400, validation_failed\)\n(.|\n)*\/tokenTtlSeconds: /,
    );
  });

  it('2 for bad usage, before anything is sent', async () => {
    const before = (await adminApi(server).get('/admin/events?limit=1')).body.items[0].id;
    for (const args of [
      ['agents', 'create', '--name', 'x', '--bogus'],
      ['agents', 'create', '--name', 'x', '--max-depth', 'many'],
      ['agents', 'create', '--auth-method', 'password'],
      ['agents', 'update', 'some-agent'],
      ['revoke'],
      ['revoke', '--jti', 'a', '--txn', 'b'],
      ['audit', '--from', 'yesterday'],
      ['audit', '--follow', '--to', '2026-01-01'],
      ['agents', 'create', '--from-file', path.join(scratch, 'missing.json')],
      ['token', 'inspect', 'not-a-jwt'],
      ['frobnicate'],
      [],
    ]) {
      const result = await cli(...args);
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr).toMatch(/error/);
    }
    expect((await adminApi(server).get('/admin/events?limit=1')).body.items[0].id).toBe(before);
  });

  it('6 when the service cannot be reached', async () => {
    const port = await freePort();
    const result = await runCli(['agents', 'list'], { ...env, AGENT_STS_URL: `http://127.0.0.1:${port}` });
    expect(result.code).toBe(6);
    expect(result.stderr).toBe(`error: cannot reach http://127.0.0.1:${port}: ECONNREFUSED\n`);
  });

  it('0 and the exit-code table for --help', async () => {
    const help = await cli('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit codes:');
    expect(help.stdout).toContain('6  service unavailable');
  });
});

describe('the admin token from a file', { timeout: 180_000 }, () => {
  it('reads --token-file, then AGENT_STS_ADMIN_TOKEN_FILE; a missing file is a usage error', async () => {
    const file = path.join(scratch, 'admin-token');
    writeFileSync(file, `${server.adminToken}\n`, { mode: 0o600 });
    const url = { AGENT_STS_URL: server.baseUrl };
    expect((await runCli(['keys', 'list', '--token-file', file], url)).code).toBe(0);
    expect((await runCli(['keys', 'list'], { ...url, AGENT_STS_ADMIN_TOKEN_FILE: file })).code).toBe(0);
    // --token-file is an explicit choice on this command line: it wins over the environment.
    expect(
      (await runCli(['keys', 'list', '--token-file', file], { ...url, AGENT_STS_ADMIN_TOKEN: 'wrong' })).code,
    ).toBe(0);
    const missing = await runCli(['keys', 'list'], {
      ...url,
      AGENT_STS_ADMIN_TOKEN_FILE: path.join(scratch, 'nope'),
    });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read the admin token file');
  });
});

describe('keys', { timeout: 180_000 }, () => {
  it('lists and rotates signing keys', async () => {
    const before = json(await cli('keys', 'list', '--json')) as { items: { kid: string; state: string }[] };
    expect(before).toEqual((await adminApi(server).get('/admin/keys')).body);
    const rotated = await cli('keys', 'rotate');
    expect(rotated.code, rotated.stderr).toBe(0);
    const kid = /^rotated: new key (\S+) \((next|active)\)/.exec(rotated.stdout)?.[1];
    expect(kid).toBeDefined();
    const table = await cli('keys', 'list');
    expect(table.stdout.split('\n')[0]).toMatch(/^KID +ALG +STATE +PUBLISHED/);
    expect(table.stdout).toContain(kid);
    expect((await cli('keys', 'revoke', 'no-such-kid')).code).toBe(3);
  });
});

describe('chains, revocation, audit and tokens', { timeout: 180_000 }, () => {
  const API = `https://cal-${suffix}.example/api`;
  const A = `chain-a-${suffix}`;
  const B = `chain-b-${suffix}`;
  const C = `chain-c-${suffix}`;
  let agents: Record<string, TestAgent>;
  let hops: { token: string; jti: string }[];
  let txn: string;

  beforeAll(async () => {
    const idp = await createExternalIssuer(`https://idp-chain-${suffix}.example`);
    await registerTrustedIssuer(server, {
      issuer: idp.issuer,
      jwks: idp.jwks,
      audiences: [`https://sts-chain-${suffix}.example`],
    });
    await registerResource(server, { id: API, scopes: ['cal.read', 'cal.write'] });
    const scopes = ['cal.read', 'cal.write'];
    agents = {
      [A]: await registerAgent(server, { id: A, allowedScopes: scopes, allowedAudiences: [B] }),
      [B]: await registerAgent(server, { id: B, allowedScopes: scopes, allowedAudiences: [C, API] }),
      [C]: await registerAgent(server, { id: C, allowedScopes: ['cal.read'], allowedAudiences: [API] }),
    };
    const alice = await idp.sign({ sub: `alice-${suffix}`, aud: A, scope: 'cal.read cal.write' });
    // alice → A → B → C → API, and a sibling branch B → API.
    const hop1 = await exchange(server, agents[A]!, { subject_token: alice, audience: B });
    const hop2 = await exchange(server, agents[B]!, {
      subject_token: hop1.token,
      audience: C,
      scope: 'cal.read',
    });
    const hop3 = await exchange(server, agents[C]!, { subject_token: hop2.token, resource: API });
    const sibling = await exchange(server, agents[B]!, {
      subject_token: hop1.token,
      resource: API,
      scope: 'cal.write',
    });
    hops = [hop1, hop2, hop3, sibling].map(({ token, claims }) => ({ token, jti: claims.jti as string }));
    txn = hop1.claims.txn as string;
  });

  /** The lines of the tree, each hop's line, and the branches drawn before them, whichever order the
   * API lists the two children of the first hop in (they may be issued in the same second). */
  function treeLines(stdout: string) {
    const lines = stdout.trimEnd().split('\n');
    const line = (hop: number) => lines.find((text) => text.endsWith(`jti ${hops[hop]!.jti}`)) ?? '';
    const hop2First = lines.indexOf(line(1)) < lines.indexOf(line(3));
    // The third hop is drawn right below its parent, the second.
    expect(lines.indexOf(line(2))).toBe(lines.indexOf(line(1)) + 1);
    return {
      lines,
      hop2: line(1),
      hop3: line(2),
      sibling: line(3),
      hop2Branch: escape(hop2First ? '   ├─ ' : '   └─ '),
      hop3Branch: escape(hop2First ? '   │  └─ ' : '      └─ '),
      siblingBranch: escape(hop2First ? '   └─ ' : '   ├─ '),
    };
  }

  it('draws the chain as a tree, then marks the revoked branch and a disabled agent', async () => {
    const live = await cli('chain', txn);
    expect(live.code, live.stderr).toBe(0);
    const tree = treeLines(live.stdout);
    expect(tree.lines.slice(0, 2)).toEqual([`chain ${txn} (4 tokens)`, `alice-${suffix} (subject)`]);
    expect(tree.lines[2]).toMatch(
      new RegExp(`^└─ ${A} → ${B}  scopes: cal.read, cal.write  ● live  exp \\S+Z  jti ${hops[0]!.jti}$`),
    );
    expect(tree.hop2).toMatch(new RegExp(`^${tree.hop2Branch}${B} → ${C}  scopes: cal.read  ● live  exp `));
    expect(tree.hop3).toMatch(
      new RegExp(`^${tree.hop3Branch}${C} → ${escape(API)}  scopes: cal.read  ● live  exp `),
    );
    expect(tree.sibling).toMatch(
      new RegExp(`^${tree.siblingBranch}${B} → ${escape(API)}  scopes: cal.write  ● live  exp `),
    );
    expect(json(await cli('chain', txn, '--json'))).toEqual(
      (await adminApi(server).get(`/admin/chains/${txn}`)).body,
    );

    const revoked = await cli('revoke', '--jti', hops[1]!.jti);
    const [count, ...jtis] = revoked.stdout.trimEnd().split('\n');
    expect(count).toBe('revoked 2 tokens');
    expect(jtis.sort()).toEqual([`  ${hops[1]!.jti}`, `  ${hops[2]!.jti}`].sort());
    await disableAgent(server, C);
    const after = treeLines((await cli('chain', txn)).stdout);
    expect(after.lines[2]).toContain('● live');
    expect(after.hop2).toMatch(
      new RegExp(`^${after.hop2Branch}${B} → ${C}  scopes: cal.read  ✗ revoked  revoked \\S+Z  jti `),
    );
    expect(after.hop3).toMatch(
      new RegExp(`^${after.hop3Branch}${C} \\[agent disabled\\] → \\S+  scopes: cal.read  ✗ revoked  `),
    );
    expect(after.sibling).toContain('● live');

    const byTxn = json(await cli('revoke', '--txn', txn, '--json')) as { revoked: number; jtis: string[] };
    expect(byTxn.revoked).toBe(2);
    expect(byTxn.jtis.sort()).toEqual([hops[0]!.jti, hops[3]!.jti].sort());
    const dead = (await cli('chain', txn)).stdout.trimEnd().split('\n');
    expect(dead.slice(2).every((line) => line.includes('✗ revoked'))).toBe(true);
    expect((await cli('chain', `no-chain-${suffix}`)).code).toBe(3);
  });

  it('shows the audit log of the chain, filtered', async () => {
    const audit = await cli('audit', '--txn', txn, '--decision', 'granted', '--limit', '200');
    expect(audit.code, audit.stderr).toBe(0);
    expect(audit.stdout).toMatch(
      new RegExp(
        `granted  granted  client=${A}  sub=alice-${suffix}  aud=${B}  scope="cal.read cal.write"  txn=${txn}  jti=${hops[0]!.jti}`,
      ),
    );
    expect(json(await cli('audit', '--txn', txn, '--json'))).toEqual(
      (await adminApi(server).get(`/admin/audit?txn=${txn}`)).body,
    );
    const events = await cli('events', '--target-type', 'agent', '--target-id', C);
    expect(events.stdout).toMatch(new RegExp(`agent\\.disabled  agent:${C}  by admin token  fields: status`));
  });

  it('follows the audit log: prints an event that happens after it started, stops on SIGINT', async () => {
    const follower = await registerAgent(server, {
      id: `cli-follow-${suffix}`,
      allowedScopes: ['cal.read'],
      allowedAudiences: [API],
    });
    const first = await agentToken(server, follower, { resource: API });
    const follow = spawnCli(['audit', '--follow', '--agent', follower.id, '--interval', '0.2'], env);
    await follow.waitFor((out) => out.includes(`jti=${first.claims.jti as string}`));
    const second = await agentToken(server, follower, { resource: API });
    await follow.waitFor((out) => out.includes(`jti=${second.claims.jti as string}`));
    follow.child.kill('SIGINT');
    const exit = await follow.exited();
    expect(exit).toMatchObject({ code: 0, stderr: '' });
    const lines = follow.output().trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain(`jti=${first.claims.jti as string}`);
    expect(lines[1]).toMatch(
      new RegExp(`^\\S+Z  granted  granted  client=${follower.id}  .*jti=${second.claims.jti as string}$`),
    );
  });

  it('inspects a token: claims and act chain, decoded or verified', async () => {
    const hop2 = hops[1]!.token;
    const decoded = await cli('token', 'inspect', hop2);
    expect(decoded.code, decoded.stderr).toBe(0);
    expect(decoded.stdout).toMatch(new RegExp(`\\nsubject +alice-${suffix}\\n`));
    expect(decoded.stdout).toMatch(new RegExp(`\\nclient_id +${B}\\n`));
    expect(decoded.stdout).toContain(
      `delegation (depth 2): alice-${suffix} → ${A} → ${B}\n  acting now  ${B}\n  before      ${A}\n`,
    );
    expect(decoded.stdout).toContain('signature: NOT verified');

    const piped = await runCli(['token', 'inspect', '-', '--json'], env, `${hop2}\n`);
    expect(json(piped)).toEqual({
      header: expect.objectContaining({ alg: 'ES256', typ: 'at+jwt' }),
      claims: decodeJwt(hop2),
      verified: false,
    });

    const verified = await cli('token', 'inspect', '--verify', hop2);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toContain('signature: verified against the service JWKS');

    const [header, payload] = hop2.split('.');
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...decodeJwt(hop2), scope: 'cal.write' })).toString('base64url')}.${hop2.split('.')[2]}`;
    expect(payload).toBeDefined();
    const refused = await cli('token', 'inspect', '--verify', forged);
    expect(refused.code).toBe(7);
    expect(refused.stderr).toMatch(
      /^error: the token did not verify \(ERR_JWS_SIGNATURE_VERIFICATION_FAILED\)/,
    );
  });
});
