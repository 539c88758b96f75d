/**
 * The guidance given to API owners (docs/resource-servers.md, scripts/verify-token.mjs) is safe:
 * a DPoP-bound token (`cnf.jkt`) presented as a Bearer token is refused, and with
 * `Authorization: DPoP` it is accepted only with a proof that passes every check of RFC 9449
 * §4.3: `typ`, an asymmetric `alg`, the key the token is bound to, `htm`, `htu`, `ath`, a fresh
 * `iat` and a `jti` never seen before. Runs the script as users do, and imports it for the checks.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRemoteJWKSet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAgent, registerResource, uniqueSuffix } from '../../helpers/fixtures.js';
import { dpopProof, generateDpopKey, requestTokenWithProof, type DpopKey } from '../../helpers/dpop.js';
import { agentToken, type TestAgent } from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SCRIPT = path.join(ROOT, 'scripts/verify-token.mjs');
const GUIDE = path.join(ROOT, 'docs/resource-servers.md');
const suffix = uniqueSuffix();
const API = `https://api-${suffix}.example`;
const OTHER_API = `https://other-api-${suffix}.example`;
/** The request the API received, which the proof must be for. */
const CALL = { method: 'GET', url: `${API}/v1/events?from=today` };

interface VerifiedRequest {
  readonly payload: Record<string, unknown>;
}
interface VerifyTokenScript {
  verifyRequest(
    request: { authorization: string; dpop?: string | string[]; method: string; url: string },
    options: { issuer: string; audience: string; jwks: unknown; replays: unknown },
  ): Promise<VerifiedRequest>;
  createProofReplayCache(): unknown;
}

let server: TestServer;
let agent: TestAgent;
let key: DpopKey;
let boundToken: string;
let script: VerifyTokenScript;
let verify: (request: Parameters<VerifyTokenScript['verifyRequest']>[0]) => Promise<VerifiedRequest>;

const ath = (token: string) => createHash('sha256').update(token).digest('base64url');

/** A proof for CALL and the bound token, valid unless overridden. */
function proof(options: Parameters<typeof dpopProof>[2] = {}, proofKey = key): Promise<string> {
  return dpopProof(server, proofKey, {
    ...options,
    claims: { htm: CALL.method, htu: CALL.url, ath: ath(boundToken), ...options.claims },
  });
}

function runScript(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SCRIPT, ...args], (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  server = await startTestServer();
  await registerResource(server, { id: API, scopes: ['events.read'] });
  await registerResource(server, { id: OTHER_API, scopes: ['events.read'] });
  agent = await registerAgent(server, {
    id: `rs-guidance-${suffix}`,
    allowedScopes: ['events.read'],
    allowedAudiences: [API, OTHER_API],
  });
  key = await generateDpopKey();
  const response = await requestTokenWithProof(
    server,
    agent,
    { grant_type: 'client_credentials', audience: API },
    await dpopProof(server, key),
  );
  expect(response.status, response.text).toBe(200);
  boundToken = response.body.access_token as string;
});

afterAll(async () => {
  await server?.close();
});

describe('scripts/verify-token.mjs, run as the README shows', () => {
  it('verifies a bearer token', async () => {
    const { token } = await agentToken(server, agent, { audience: API });
    const result = await runScript([server.baseUrl, API, token]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).claims).toMatchObject({ aud: API, client_id: agent.id });
  });

  it('refuses a DPoP-bound token presented as a bearer token', async () => {
    const result = await runScript([server.baseUrl, API, boundToken]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/refused \(invalid_token\).*Authorization: DPoP/);
  });

  it('accepts a DPoP-bound token with a valid proof of its key', async () => {
    const result = await runScript([server.baseUrl, API, boundToken, await proof(), CALL.method, CALL.url]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).claims.cnf).toEqual({ jkt: key.jkt });
  });
});

describe('verifyRequest', () => {
  beforeAll(async () => {
    script = (await import(pathToFileURL(SCRIPT).href)) as VerifyTokenScript;
    const options = {
      issuer: server.baseUrl,
      audience: API,
      jwks: createRemoteJWKSet(new URL(`${server.baseUrl}/jwks`)),
      replays: script.createProofReplayCache(),
    };
    verify = (request) => script.verifyRequest(request, options);
  });

  const dpop = async (proofValue: string | string[]) => ({
    authorization: `DPoP ${boundToken}`,
    dpop: proofValue,
    ...CALL,
  });

  async function expectRefused(request: Parameters<typeof verify>[0], code: string, reason: RegExp) {
    const refusal = await verify(request).then(
      () => null,
      (error: unknown) => error as { code: string; message: string },
    );
    expect(refusal, 'the request was accepted').not.toBeNull();
    expect(refusal?.code).toBe(code);
    expect(refusal?.message).toMatch(reason);
  }

  it('refuses a DPoP-bound token as Bearer, even with a valid proof beside it', async () => {
    await expectRefused(
      { authorization: `Bearer ${boundToken}`, dpop: await proof(), ...CALL },
      'invalid_token',
      /Authorization: DPoP/,
    );
  });

  it('accepts a valid proof once, and refuses its replay', async () => {
    const once = await proof();
    expect((await verify(await dpop(once))).payload.cnf).toEqual({ jkt: key.jkt });
    await expectRefused(await dpop(once), 'invalid_dpop_proof', /used before/);
  });

  it('refuses a DPoP-bound token without a proof, or with two', async () => {
    await expectRefused(
      { authorization: `DPoP ${boundToken}`, ...CALL },
      'invalid_dpop_proof',
      /exactly one/,
    );
    await expectRefused(await dpop([await proof(), await proof()]), 'invalid_dpop_proof', /exactly one/);
  });

  it.each([
    ['signed by another key', async () => proof({}, await generateDpopKey())],
    ['for another method', () => proof({ claims: { htm: 'POST' } })],
    ['for another URL', () => proof({ claims: { htu: `${API}/v1/admin` } })],
    ['for another access token', () => proof({ claims: { ath: ath('another-token') } })],
    ['without ath', () => proof({ claims: { ath: undefined } })],
    ['issued ten minutes ago', () => proof({ claims: { iat: Math.floor(Date.now() / 1000) - 600 } })],
    ['issued in the future', () => proof({ claims: { iat: Math.floor(Date.now() / 1000) + 600 } })],
    ['of another typ', () => proof({ header: { typ: 'JWT' } })],
    ['without a jwk', () => proof({ header: { jwk: undefined } })],
    ['without a jti', () => proof({ claims: { jti: undefined } })],
  ])('refuses a proof %s', async (_name, make) => {
    await expectRefused(await dpop(await make()), 'invalid_dpop_proof', /./);
  });

  it('refuses a proof with a symmetric alg', async () => {
    const secret = new Uint8Array(32).fill(7);
    const hmacProof = await proof({
      header: { alg: 'HS256', jwk: { kty: 'oct', k: Buffer.from(secret).toString('base64url') } },
      signingKey: secret,
    });
    await expectRefused(await dpop(hmacProof), 'invalid_dpop_proof', /./);
  });

  it('refuses a bearer token presented as DPoP', async () => {
    const { token } = await agentToken(server, agent, { audience: API });
    await expectRefused(
      { authorization: `DPoP ${token}`, dpop: await proof({ claims: { ath: ath(token) } }), ...CALL },
      'invalid_token',
      /not DPoP-bound/,
    );
  });

  it('refuses a token addressed to another audience, and one that is not a token', async () => {
    const { token } = await agentToken(server, agent, { audience: OTHER_API });
    await expectRefused({ authorization: `Bearer ${token}`, ...CALL }, 'invalid_token', /"aud"/);
    await expectRefused(
      { authorization: 'Bearer not-a-token.at.all', ...CALL },
      'invalid_token',
      /invalid access token/,
    );
    await expectRefused({ authorization: `Basic ${boundToken}`, ...CALL }, 'invalid_request', /Bearer/);
  });
});

describe('the code sample in docs/resource-servers.md', () => {
  type Authorise = (
    request: { authorization: string; dpop?: string; method: string; url: string },
    policy: { audience: string; requiredScope: string },
  ) => Promise<{ caller: string }>;
  let authorise: Authorise;
  let sampleFile: string;
  const policy = { audience: API, requiredScope: 'events.read' };

  beforeAll(async () => {
    const sample = /## In code \(Node\.js, jose\)[\s\S]*?```js\n([\s\S]*?)```/.exec(
      readFileSync(GUIDE, 'utf8'),
    )?.[1];
    expect(sample, 'the guide has a js sample').toBeTruthy();
    // Beside node_modules, so the sample's imports resolve as in an API's own project.
    const directory = path.join(ROOT, 'node_modules/.cache');
    mkdirSync(directory, { recursive: true });
    sampleFile = path.join(directory, `resource-server-sample-${randomBytes(6).toString('hex')}.mjs`);
    writeFileSync(sampleFile, (sample ?? '').replaceAll("'https://sts.example.com'", `'${server.baseUrl}'`));
    ({ authorise } = (await import(pathToFileURL(sampleFile).href)) as { authorise: Authorise });
  });

  afterAll(() => {
    if (sampleFile) rmSync(sampleFile, { force: true });
  });

  it('refuses a DPoP-bound token presented as Bearer', async () => {
    await expect(authorise({ authorization: `Bearer ${boundToken}`, ...CALL }, policy)).rejects.toThrow(
      'invalid_token',
    );
  });

  it('accepts it with a valid proof, once', async () => {
    const once = await proof();
    const request = { authorization: `DPoP ${boundToken}`, dpop: once, ...CALL };
    expect((await authorise(request, policy)).caller).toBe(agent.id);
    await expect(authorise(request, policy)).rejects.toThrow('invalid_dpop_proof');
  });

  it('refuses a proof signed by another key or for another request', async () => {
    for (const bad of [
      await proof({}, await generateDpopKey()),
      await proof({ claims: { htu: `${API}/v1/admin` } }),
      await proof({ claims: { ath: ath('another-token') } }),
    ]) {
      await expect(
        authorise({ authorization: `DPoP ${boundToken}`, dpop: bad, ...CALL }, policy),
      ).rejects.toThrow('invalid_dpop_proof');
    }
  });

  it('accepts a bearer token', async () => {
    const { token } = await agentToken(server, agent, { audience: API, scope: 'events.read' });
    expect((await authorise({ authorization: `Bearer ${token}`, ...CALL }, policy)).caller).toBe(agent.id);
  });
});
