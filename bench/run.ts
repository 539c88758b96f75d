/**
 * Token-endpoint throughput, as a ratio against a baseline measured in the same run (these
 * machines are noisy, so absolute numbers mean little). The baseline is the crypto ceiling of
 * one exchange: one ES256 verify plus one ES256 sign, in-process, with no HTTP or database.
 *
 *   npm run bench                       embedded PGlite
 *   DATABASE_URL=postgres://… npm run bench
 *
 * Loopback only; bounded by request count and time.
 */
import { generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { startTestServer } from '../test/helpers/server.js';

const CONCURRENCY = 16;
const MAX_REQUESTS = 4_000;
const MAX_SECONDS = 8;

async function measure(label: string, run: () => Promise<void>, concurrency: number): Promise<number> {
  let done = 0;
  const started = performance.now();
  const deadline = started + MAX_SECONDS * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (done < MAX_REQUESTS && performance.now() < deadline) {
        done += 1;
        await run();
      }
    }),
  );
  const perSecond = done / ((performance.now() - started) / 1000);
  console.log(`${label.padEnd(44)} ${perSecond.toFixed(0).padStart(7)} /s  (${done} ops)`);
  return perSecond;
}

async function cryptoCeiling(): Promise<number> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const token = await new SignJWT({ scope: 'a' })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' })
    .setSubject('alice')
    .setExpirationTime('5m')
    .sign(privateKey);
  return measure(
    'baseline: ES256 verify + sign (in-process)',
    async () => {
      await jwtVerify(token, publicKey);
      await new SignJWT({ scope: 'a' })
        .setProtectedHeader({ alg: 'ES256' })
        .setSubject('alice')
        .sign(privateKey);
    },
    1,
  );
}

async function main(): Promise<void> {
  const server = await startTestServer({ env: { TOKEN_RATE_LIMIT: '10000000', LOG_LEVEL: 'silent' } });
  try {
    const admin = { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' };
    const post = async (path: string, body: unknown) => {
      const response = await fetch(server.baseUrl + path, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify(body),
      });
      if (response.status !== 201) throw new Error(`${path}: ${response.status} ${await response.text()}`);
      return (await response.json()) as { clientSecret?: string };
    };
    await post('/admin/resources', { id: 'https://api.example', name: 'API', scopes: ['read'] });
    const a = await post('/admin/agents', {
      id: 'bench-a',
      name: 'A',
      tokenEndpointAuthMethod: 'client_secret_post',
      allowedScopes: ['read'],
      allowedAudiences: ['bench-b'],
    });
    const b = await post('/admin/agents', {
      id: 'bench-b',
      name: 'B',
      tokenEndpointAuthMethod: 'client_secret_post',
      allowedScopes: ['read'],
      allowedAudiences: ['https://api.example'],
    });
    const form = (fields: Record<string, string>) => ({
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields),
    });
    const tokenRequest = async (fields: Record<string, string>) => {
      const response = await fetch(`${server.baseUrl}/token`, form(fields));
      if (response.status !== 200) throw new Error(`token: ${response.status} ${await response.text()}`);
      return (await response.json()) as { access_token: string };
    };
    const ownToken = () =>
      tokenRequest({
        grant_type: 'client_credentials',
        client_id: 'bench-a',
        client_secret: a.clientSecret ?? '',
        audience: 'bench-b',
      });
    const subject = (await ownToken()).access_token;

    const baseline = await cryptoCeiling();
    const clientCredentials = await measure(
      'client_credentials over HTTP',
      async () => void (await ownToken()),
      CONCURRENCY,
    );
    const exchange = await measure(
      'token exchange over HTTP',
      async () =>
        void (await tokenRequest({
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          client_id: 'bench-b',
          client_secret: b.clientSecret ?? '',
          subject_token: subject,
          subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          resource: 'https://api.example',
        })),
      CONCURRENCY,
    );
    console.log(`\ndatabase: ${server.database.kind}`);
    console.log(`client_credentials / baseline = ${(clientCredentials / baseline).toFixed(2)}`);
    console.log(`token exchange / baseline     = ${(exchange / baseline).toFixed(2)}`);
  } finally {
    await server.close();
  }
}

await main();
