/**
 * This service's own tokens checked against their lineage record (ADR 0028): every access token and
 * Txn-Token it issues has the SHA-256 of its exact compact form in its `issued_tokens` row, and a
 * token presented back under a recorded `jti` must be those bytes; where the row holds no digest
 * (rows from before the column), the signature is checked as before. A key that is no longer a
 * verification key refuses its tokens whatever lineage holds (keys/revocation.test.ts).
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signAccessToken, type AccessTokenClaims } from '../../../src/protocol/mint.js';
import { registerAgent, registerResource, uniqueSuffix } from '../../helpers/fixtures.js';
import {
  agentToken,
  decodeJwt,
  exchange,
  exchangeRequest,
  refusalChecker,
  type Form,
  type TestAgent,
  type TokenResponse,
} from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { isActive } from '../introspection-revocation/helpers.js';

const TOKEN_TYPE_TXN_TOKEN = 'urn:ietf:params:oauth:token-type:txn_token';
const suffix = uniqueSuffix();
const RESOURCE = `https://calendar-${suffix}.example/api`;
const TRUST_DOMAIN = `trust-domain-${suffix}.example`;
const IR_SUBJECT = { status: 400, error: 'invalid_request', rule: 'subject_token_invalid' } as const;

let server: TestServer;
/** Gets its own tokens addressed to agentB or to the gateway. */
let agentA: TestAgent;
/** Exchanges agentA's tokens for the resource. */
let agentB: TestAgent;
/** A workload of the Trust Domain: turns agentA's tokens into Txn-Tokens. */
let gateway: TestAgent;
/** Another workload of the Trust Domain: replaces the gateway's Txn-Tokens. */
let orders: TestAgent;
let controlToken: string;
let expectRefusal: ReturnType<typeof refusalChecker>;

const sha256 = (token: string) => createHash('sha256').update(token).digest();
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The digest the token's lineage row holds, null when it holds none. */
async function recordedDigest(token: string): Promise<Buffer | null> {
  const row = await server.database.prisma.issuedToken.findUniqueOrThrow({
    where: { jti: String(decodeJwt(token).jti) },
    select: { tokenDigest: true },
  });
  return row.tokenDigest === null ? null : Buffer.from(row.tokenDigest);
}

/** `token` with its claims changed and re-encoded, its header and signature kept. */
function altered(token: string, changes: Record<string, unknown>): string {
  const [header, , signature] = token.split('.') as [string, string, string];
  return `${header}.${b64({ ...decodeJwt(token), ...changes })}.${signature}`;
}

function exchangeForResource(subjectToken: string): Promise<TokenResponse> {
  return exchangeRequest(server, agentB, { subject_token: subjectToken, resource: RESOURCE });
}

function txnTokenRequest(params: Form, workload = gateway): Promise<TokenResponse> {
  return exchangeRequest(server, workload, {
    requested_token_type: TOKEN_TYPE_TXN_TOKEN,
    audience: TRUST_DOMAIN,
    scope: 'calendar.read',
    ...params,
  });
}

beforeAll(async () => {
  server = await startTestServer({ env: { TXN_TOKEN_TRUST_DOMAIN: TRUST_DOMAIN } });
  await registerResource(server, { id: RESOURCE, scopes: ['calendar.read'] });
  agentB = await registerAgent(server, {
    id: `agent-b-${suffix}`,
    allowedScopes: ['calendar.read'],
    allowedAudiences: [RESOURCE],
  });
  gateway = await registerAgent(server, {
    id: `gateway-${suffix}`,
    allowedScopes: ['calendar.read'],
    allowedAudiences: [TRUST_DOMAIN],
  });
  orders = await registerAgent(server, {
    id: `orders-${suffix}`,
    allowedScopes: ['calendar.read'],
    allowedAudiences: [TRUST_DOMAIN],
  });
  agentA = await registerAgent(server, {
    id: `agent-a-${suffix}`,
    allowedScopes: ['calendar.read'],
    allowedAudiences: [agentB.id, gateway.id],
  });
  controlToken = (await agentToken(server, agentA, { audience: agentB.id })).token;
  expectRefusal = refusalChecker(server, () => exchangeForResource(controlToken));
});

afterAll(async () => {
  await server?.close();
});

describe('the digest of every token issued', () => {
  it('records SHA-256 of the exact access token of client_credentials and of an exchange', async () => {
    const own = await agentToken(server, agentA, { audience: agentB.id });
    const derived = await exchange(server, agentB, { subject_token: own.token, resource: RESOURCE });
    expect(await recordedDigest(own.token)).toEqual(sha256(own.token));
    expect(await recordedDigest(derived.token)).toEqual(sha256(derived.token));
  });

  it('records SHA-256 of the exact Txn-Token, first and replacement', async () => {
    const own = await agentToken(server, agentA, { audience: gateway.id });
    const first = await txnTokenRequest({ subject_token: own.token });
    expect(first.status, first.text).toBe(200);
    const txnToken = first.body.access_token as string;
    const replacement = await txnTokenRequest(
      { subject_token: txnToken, subject_token_type: TOKEN_TYPE_TXN_TOKEN },
      orders,
    );
    expect(replacement.status, replacement.text).toBe(200);
    expect(await recordedDigest(txnToken)).toEqual(sha256(txnToken));
    const replaced = replacement.body.access_token as string;
    expect(await recordedDigest(replaced)).toEqual(sha256(replaced));
  });
});

describe('a token presented back is the one recorded', () => {
  it('refuses an own token whose claims were altered under its real jti, its signature kept', async () => {
    const { token } = await agentToken(server, agentA, { audience: agentB.id });
    expect(await recordedDigest(token)).toEqual(sha256(token));
    const forged = altered(token, {
      scope: 'calendar.read calendar.write',
      exp: decodeJwt(token).exp! + 3600,
    });
    await expectRefusal(() => exchangeForResource(forged), IR_SUBJECT);
    expect(await isActive(server, agentB, forged)).toBe(false);
    // The token as issued still passes.
    await exchange(server, agentB, { subject_token: token, resource: RESOURCE });
  });

  it('refuses the same claims signed again with the active key: only the bytes issued match', async () => {
    const { token } = await agentToken(server, agentA, { audience: agentB.id });
    const resigned = await signAccessToken(
      server.app.sts.keys().active,
      decodeJwt(token) as unknown as AccessTokenClaims,
    );
    expect(resigned).not.toBe(token);
    await expectRefusal(() => exchangeForResource(resigned), IR_SUBJECT);
  });

  it('refuses a Txn-Token whose claims were altered under its real jti', async () => {
    const own = await agentToken(server, agentA, { audience: gateway.id });
    const first = await txnTokenRequest({ subject_token: own.token });
    expect(first.status, first.text).toBe(200);
    const txnToken = first.body.access_token as string;
    const forged = altered(txnToken, { sub: 'mallory' });
    await expectRefusal(
      () => txnTokenRequest({ subject_token: forged, subject_token_type: TOKEN_TYPE_TXN_TOKEN }, orders),
      IR_SUBJECT,
    );
    const replacement = await txnTokenRequest(
      { subject_token: txnToken, subject_token_type: TOKEN_TYPE_TXN_TOKEN },
      orders,
    );
    expect(replacement.status, replacement.text).toBe(200);
  });
});

describe('a row without a digest (written before ADR 0028)', () => {
  it('verifies its token by signature: the token passes, an altered one does not', async () => {
    const { token } = await agentToken(server, agentA, { audience: agentB.id });
    const jti = String(decodeJwt(token).jti);
    await server.database.prisma.$executeRaw`UPDATE issued_tokens SET token_digest = NULL WHERE jti = ${jti}`;
    expect(await recordedDigest(token)).toBeNull();

    await exchange(server, agentB, { subject_token: token, resource: RESOURCE });
    expect(await isActive(server, agentB, token)).toBe(true);
    await expectRefusal(() => exchangeForResource(altered(token, { sub: 'mallory' })), IR_SUBJECT);
    // Signed with the key again, the same claims verify by signature where no digest says otherwise.
    const resigned = await signAccessToken(
      server.app.sts.keys().active,
      decodeJwt(token) as unknown as AccessTokenClaims,
    );
    await exchange(server, agentB, { subject_token: resigned, resource: RESOURCE });
  });
});
