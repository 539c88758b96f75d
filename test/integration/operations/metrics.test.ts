/**
 * GET /metrics (CONTRACT §5): Prometheus text with token requests by grant type and outcome,
 * token-exchange decisions by the rule the audit log records, latency histograms with bounded
 * route labels, and the process metrics. Unauthenticated by design (README, Operations).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAgent, registerResource, uniqueSuffix } from '../../helpers/fixtures.js';
import {
  agentToken,
  auditSince,
  exchange,
  exchangeRequest,
  GRANT_TOKEN_EXCHANGE,
  postToken,
  requestToken,
  snapshot,
  type TestAgent,
} from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

const suffix = uniqueSuffix();
const RESOURCE = `https://calendar-${suffix}.example/api`;
const AGENT_A = `agent-a-${suffix}`;
const AGENT_B = `agent-b-${suffix}`;

let server: TestServer;
let agentA: TestAgent;
let agentB: TestAgent;

/** The value of one sample line, `name{labels} value`; undefined when the series is absent. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([label, value]) => `${label}="${value}"`);
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = (match[2] ?? '').split(/,(?=[a-zA-Z_]+=")/);
    if (wanted.every((pair) => present.includes(pair)) && present.length === wanted.length) {
      return Number(match[3]);
    }
  }
  return undefined;
}

async function scrape(target: TestServer = server): Promise<{ text: string; contentType: string | null }> {
  const response = await fetch(`${target.baseUrl}/metrics`);
  expect(response.status).toBe(200);
  return { text: await response.text(), contentType: response.headers.get('content-type') };
}

beforeAll(async () => {
  server = await startTestServer();
  await registerResource(server, { id: RESOURCE, scopes: ['calendar.read'] });
  agentB = await registerAgent(server, {
    id: AGENT_B,
    allowedScopes: ['calendar.read'],
    allowedAudiences: [RESOURCE],
  });
  agentA = await registerAgent(server, {
    id: AGENT_A,
    allowedScopes: ['calendar.read'],
    allowedAudiences: [AGENT_B],
  });
});

afterAll(async () => {
  await server?.close();
});

describe('GET /metrics', () => {
  it('answers Prometheus text without authentication, with the process metrics', async () => {
    const { text, contentType } = await scrape();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(text).toMatch(/^# HELP process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^# TYPE nodejs_eventloop_lag_seconds gauge$/m);
    expect(text).toMatch(/^# TYPE agent_sts_token_requests_total counter$/m);
    expect(text).toMatch(/^# TYPE agent_sts_exchange_decisions_total counter$/m);
    expect(text).toMatch(/^# TYPE agent_sts_token_request_duration_seconds histogram$/m);
    expect(text).toMatch(/^# TYPE agent_sts_http_request_duration_seconds histogram$/m);
  });

  it('counts granted and denied token requests by grant type and outcome', async () => {
    const before = (await scrape()).text;
    const count = (text: string, outcome: string) =>
      sample(text, 'agent_sts_token_requests_total', { grant_type: 'client_credentials', outcome }) ?? 0;

    await agentToken(server, agentA, { audience: AGENT_B });
    const denied = await requestToken(server, agentA, {
      grant_type: 'client_credentials',
      audience: AGENT_B,
      scope: 'calendar.write',
    });
    expect(denied.status).toBe(400);
    const unknownGrant = await requestToken(server, agentA, { grant_type: `urn:example:${suffix}` });
    expect(unknownGrant.status).toBe(400);

    const after = (await scrape()).text;
    expect(count(after, 'granted') - count(before, 'granted')).toBe(1);
    expect(count(after, 'denied') - count(before, 'denied')).toBe(1);
    // An unknown grant type never becomes a label value of its own.
    expect(after).not.toContain(`urn:example:${suffix}`);
    expect(sample(after, 'agent_sts_token_requests_total', { grant_type: 'other', outcome: 'denied' })).toBe(
      1,
    );
    expect(
      sample(after, 'agent_sts_token_request_duration_seconds_count', {
        grant_type: 'client_credentials',
        outcome: 'granted',
      }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('counts token-exchange decisions by the rule the audit log records', async () => {
    const { token } = await agentToken(server, agentA, { audience: AGENT_B });
    await exchange(server, agentB, { subject_token: token, resource: RESOURCE });

    const beforeDenial = await snapshot(server);
    const denied = await exchangeRequest(server, agentB, { subject_token: 'not-a-jwt', resource: RESOURCE });
    expect(denied.status).toBe(400);
    const [row] = await auditSince(server, beforeDenial);
    expect(row?.decision).toBe('denied');

    const unauthenticated = await postToken(server, {
      grant_type: GRANT_TOKEN_EXCHANGE,
      client_id: AGENT_B,
      client_secret: 'wrong',
      subject_token: token,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      resource: RESOURCE,
    });
    expect(unauthenticated.status).toBe(401);

    const { text } = await scrape();
    expect(sample(text, 'agent_sts_exchange_decisions_total', { decision: 'granted', rule: 'granted' })).toBe(
      1,
    );
    expect(
      sample(text, 'agent_sts_exchange_decisions_total', { decision: 'denied', rule: String(row?.rule) }),
    ).toBe(1);
    expect(
      sample(text, 'agent_sts_exchange_decisions_total', {
        decision: 'denied',
        rule: 'client_authentication_failed',
      }),
    ).toBe(1);
    expect(
      sample(text, 'agent_sts_token_requests_total', {
        grant_type: GRANT_TOKEN_EXCHANGE,
        outcome: 'granted',
      }),
    ).toBe(1);
    expect(
      sample(text, 'agent_sts_token_requests_total', { grant_type: GRANT_TOKEN_EXCHANGE, outcome: 'denied' }),
    ).toBe(2);
    // client_credentials requests are token requests, not exchange decisions.
    const decisions = text
      .split('\n')
      .filter((line) => line.startsWith('agent_sts_exchange_decisions_total{'));
    expect(decisions).toHaveLength(3);
  });

  it('times HTTP requests by route pattern, never by raw path', async () => {
    await fetch(`${server.baseUrl}/admin/agents/${encodeURIComponent(AGENT_A)}`, {
      headers: { authorization: `Bearer ${server.adminToken}` },
    });
    await fetch(`${server.baseUrl}/jwks`);
    await fetch(`${server.baseUrl}/.well-known/oauth-authorization-server`);
    await fetch(`${server.baseUrl}/no-such-page-${suffix}`);

    const { text } = await scrape();
    const count = (labels: Record<string, string>) =>
      sample(text, 'agent_sts_http_request_duration_seconds_count', labels);
    expect(count({ method: 'GET', route: '/admin/agents/:id', status_code: '200' })).toBe(1);
    expect(count({ method: 'POST', route: '/admin/agents', status_code: '201' })).toBe(2);
    expect(count({ method: 'POST', route: '/token', status_code: '200' })).toBeGreaterThanOrEqual(3);
    expect(count({ method: 'GET', route: '/jwks', status_code: '200' })).toBe(1);
    expect(
      count({ method: 'GET', route: '/.well-known/oauth-authorization-server', status_code: '200' }),
    ).toBe(1);
    expect(count({ method: 'GET', route: 'unmatched', status_code: '404' })).toBe(1);
    expect(text).not.toContain(AGENT_A);
    expect(text).not.toContain(`no-such-page-${suffix}`);
  });

  it('keeps each app instance in its own registry', async () => {
    const other = await startTestServer({ keepData: true });
    try {
      const { text } = await scrape(other);
      expect(
        sample(text, 'agent_sts_token_requests_total', {
          grant_type: 'client_credentials',
          outcome: 'granted',
        }),
      ).toBeUndefined();
      expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    } finally {
      await other.close();
    }
  });
});
