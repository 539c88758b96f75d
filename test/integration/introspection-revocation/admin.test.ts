/**
 * The admin side of CONTRACT §3.4 and §4: `POST /admin/revocations` by jti, txn or agent,
 * `GET /admin/audit` with its filters and pages, and `GET /admin/chains/{txn}` as a tree.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAgent } from '../../helpers/fixtures.js';
import { exchange, exchangeRequest, expectRefusedResponse, snapshot } from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { adminApi, expectProblem, mintServiceToken, type AdminApi } from '../admin/admin-client.js';
import { buildChain, createWorld, isActive, revoke, SCOPE, type World } from './helpers.js';

let server: TestServer;
let world: World;
let api: AdminApi;

beforeAll(async () => {
  server = await startTestServer();
  world = await createWorld(server);
  api = adminApi(server);
});

afterAll(async () => {
  await server?.close();
});

/** Two fresh agents A → B → C: A may address B or the resource, B may address C. */
async function registerHandOff(tag: string) {
  const b = await registerAgent(server, {
    id: `ir-b${tag}-${world.suffix}`,
    allowedScopes: [SCOPE],
    allowedAudiences: [world.c.id],
  });
  const a = await registerAgent(server, {
    id: `ir-a${tag}-${world.suffix}`,
    allowedScopes: [SCOPE],
    allowedAudiences: [b.id, world.resource],
  });
  return { a, b };
}

describe('POST /admin/revocations', () => {
  it('revokes by jti: the token and its subtree', async () => {
    const chain = await buildChain(server, world);
    const response = await api.post('/admin/revocations', { jti: chain.jtis[1] });
    expect(response.status, response.text).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.body.revoked).toBe(2);
    expect([...response.body.jtis].sort()).toEqual([chain.jtis[1], chain.jtis[2]].sort());
    expect(await isActive(server, world.b, chain.hop1)).toBe(true);
    expect(await isActive(server, world.c, chain.hop2)).toBe(false);
    expect(await isActive(server, world.c, chain.hop3)).toBe(false);
    // Again: nothing left to revoke.
    expect((await api.post('/admin/revocations', { jti: chain.jtis[1] })).body).toEqual({
      revoked: 0,
      jtis: [],
    });
  });

  it('revokes by txn: the whole chain, and nothing else', async () => {
    const chain = await buildChain(server, world);
    const other = await buildChain(server, world);
    const response = await api.post('/admin/revocations', { txn: chain.txn });
    expect(response.status, response.text).toBe(200);
    expect(response.body.revoked).toBe(3);
    for (const [agent, token] of [
      [world.b, chain.hop1],
      [world.c, chain.hop2],
      [world.c, chain.hop3],
    ] as const) {
      expect(await isActive(server, agent, token)).toBe(false);
    }
    expect(await isActive(server, world.c, other.hop3)).toBe(true);
    const refused = await exchangeRequest(server, world.b, {
      subject_token: chain.hop1,
      audience: world.c.id,
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('invalid_request');
  });

  it('revokes by agent: every live token it acted in or that is addressed to it, and their descendants', async () => {
    const { a: a2, b: b2 } = await registerHandOff('2');
    const user = await world.idp.sign({ sub: 'carol', aud: a2.id, scope: SCOPE });
    const hop1 = await exchange(server, a2, { subject_token: user, audience: b2.id });
    const hop2 = await exchange(server, b2, { subject_token: hop1.token, audience: world.c.id });
    const hop3 = await exchange(server, world.c, { subject_token: hop2.token, resource: world.resource });
    // A sibling of hop 1 in the same chain that b2 neither acted in nor received.
    const sibling = await exchange(server, a2, { subject_token: user, resource: world.resource });
    const untouched = await buildChain(server, world);

    const response = await api.post('/admin/revocations', { agent: b2.id });
    expect(response.status, response.text).toBe(200);
    expect([...response.body.jtis].sort()).toEqual(
      [hop1.claims.jti, hop2.claims.jti, hop3.claims.jti].sort(),
    );
    for (const [agent, token] of [
      [b2, hop1.token],
      [world.c, hop2.token],
      [world.c, hop3.token],
    ] as const) {
      expect(await isActive(server, agent, token)).toBe(false);
    }
    expect(await isActive(server, a2, sibling.token)).toBe(true);
    expect(await isActive(server, world.c, untouched.hop3)).toBe(true);
  });

  it('revokes by agent the tokens addressed to it: it can no longer exchange them', async () => {
    // A's exchange gives B a token addressed to B, in which B has not acted yet.
    const chain = await buildChain(server, world);
    const held = await exchange(server, world.a, {
      subject_token: chain.user,
      audience: world.b.id,
    });
    const { a: a4, b: b4 } = await registerHandOff('4');
    const user = await world.idp.sign({ sub: 'grace', aud: a4.id, scope: SCOPE });
    const addressed = await exchange(server, a4, { subject_token: user, audience: b4.id });
    const derived = await exchange(server, b4, { subject_token: addressed.token, audience: world.c.id });
    // A second token addressed to B4, in a chain of its own, that B4 never used.
    const unused = await exchange(server, a4, {
      subject_token: await world.idp.sign({ sub: 'heidi', aud: a4.id, scope: SCOPE }),
      audience: b4.id,
    });

    const response = await api.post('/admin/revocations', { agent: b4.id });
    expect(response.status, response.text).toBe(200);
    expect([...response.body.jtis].sort()).toEqual(
      [addressed.claims.jti, derived.claims.jti, unused.claims.jti].sort(),
    );
    expect(await isActive(server, b4, addressed.token)).toBe(false);
    expect(await isActive(server, b4, unused.token)).toBe(false);
    expect(await isActive(server, world.c, derived.token)).toBe(false);

    const before = await snapshot(server);
    const refused = await exchangeRequest(server, b4, { subject_token: unused.token, audience: world.c.id });
    await expectRefusedResponse(server, before, refused, {
      status: 400,
      error: 'invalid_request',
      rule: 'subject_token_revoked',
    });
    // Other agents' tokens are untouched: B still exchanges the token addressed to it.
    expect(await isActive(server, world.b, held.token)).toBe(true);
    expect(await isActive(server, world.c, chain.hop3)).toBe(true);
    await exchange(server, world.b, { subject_token: held.token, audience: world.c.id });
  });

  it('writes one token_revoked audit row per revoked token, naming the admin', async () => {
    const chain = await buildChain(server, world);
    await api.post('/admin/revocations', { txn: chain.txn });
    const audit = await api.get(`/admin/audit?txn=${chain.txn}&decision=granted`);
    const revocations = audit.body.items.filter((item: { rule: string }) => item.rule === 'token_revoked');
    expect(revocations.map((item: { jti: string }) => item.jti).sort()).toEqual([...chain.jtis].sort());
    for (const item of revocations) {
      expect(item).toMatchObject({ clientId: null, subject: 'alice', txn: chain.txn });
      expect(item.description).toMatch(/admin/);
    }
  });

  it('answers 404 for an unknown jti, chain or agent', async () => {
    expectProblem(await api.post('/admin/revocations', { jti: 'no-such-jti' }), 404, 'not_found');
    expectProblem(await api.post('/admin/revocations', { txn: 'no-such-txn' }), 404, 'not_found');
    expectProblem(await api.post('/admin/revocations', { agent: 'no-such-agent' }), 404, 'not_found');
  });

  it.each([
    ['an empty body', {}],
    ['two selectors', { jti: 'a', txn: 'b' }],
    ['an unknown field', { jti: 'a', cascade: false }],
    ['a wrong type', { jti: 42 }],
    ['an empty string', { txn: '' }],
    ['an agent id outside the pattern', { agent: 'x' }],
  ])('refuses %s (400)', async (_name, body) => {
    expectProblem(await api.post('/admin/revocations', body), 400, 'validation_failed');
  });

  it('requires admin credentials', async () => {
    const chain = await buildChain(server, world);
    const anonymous = adminApi(server, null);
    expectProblem(await anonymous.post('/admin/revocations', { txn: chain.txn }), 401, 'unauthorized');
    const agentToken = await mintServiceToken(server, {
      clientId: world.a.id,
      aud: server.baseUrl,
      scope: SCOPE,
    });
    expectProblem(
      await adminApi(server, agentToken.token).post('/admin/revocations', { txn: chain.txn }),
      403,
      'forbidden',
    );
    expect(await isActive(server, world.c, chain.hop3)).toBe(true);
  });
});

describe('GET /admin/audit', () => {
  it('lists events newest first, each with its rule', async () => {
    const chain = await buildChain(server, world);
    const response = await api.get(`/admin/audit?txn=${chain.txn}`);
    expect(response.status, response.text).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const items = response.body.items as { id: string; rule: string; jti: string; decision: string }[];
    expect(items.map((item) => [item.decision, item.rule, item.jti])).toEqual([
      ['granted', 'granted', chain.jtis[2]],
      ['granted', 'granted', chain.jtis[1]],
      ['granted', 'granted', chain.jtis[0]],
    ]);
    const ids = items.map((item) => BigInt(item.id));
    expect([...ids].sort((x, y) => (x > y ? -1 : 1))).toEqual(ids);
    expect(response.body.nextCursor).toBeNull();
  });

  it('filters by agent, subject and decision', async () => {
    const subject = `dave-${world.suffix}`;
    const chain = await buildChain(server, world, subject);
    // A refusal by C: hop 1 is not addressed to C.
    const refused = await exchangeRequest(server, world.c, {
      subject_token: chain.hop1,
      resource: world.resource,
    });
    expect(refused.status).toBe(400);

    const byAgent = await api.get(`/admin/audit?agent=${world.b.id}&subject=${subject}`);
    expect(
      byAgent.body.items.map((item: { clientId: string; jti: string }) => [item.clientId, item.jti]),
    ).toEqual([[world.b.id, chain.jtis[1]]]);
    const denied = await api.get(`/admin/audit?agent=${world.c.id}&decision=denied&limit=1`);
    expect(denied.body.items).toHaveLength(1);
    expect(denied.body.items[0]).toMatchObject({
      decision: 'denied',
      clientId: world.c.id,
      rule: 'subject_token_wrong_audience',
      subject,
    });
    const bySubject = await api.get(`/admin/audit?subject=${subject}&decision=granted`);
    expect(bySubject.body.items).toHaveLength(3);
  });

  it('filters by time range (inclusive)', async () => {
    const chain = await buildChain(server, world);
    const all = await api.get(`/admin/audit?txn=${chain.txn}`);
    const times = (all.body.items as { at: string }[]).map((item) => item.at);
    const newest = times[0] as string;
    const oldest = times.at(-1) as string;
    const inRange = await api.get(
      `/admin/audit?txn=${chain.txn}&from=${encodeURIComponent(oldest)}&to=${encodeURIComponent(newest)}`,
    );
    expect(inRange.body.items).toHaveLength(3);
    const past = await api.get(`/admin/audit?txn=${chain.txn}&to=2000-01-01T00:00:00Z`);
    expect(past.body.items).toEqual([]);
    const future = await api.get(`/admin/audit?txn=${chain.txn}&from=2999-01-01T00:00:00%2B01:00`);
    expect(future.body.items).toEqual([]);
  });

  it('pages with an opaque cursor, never repeating or skipping an event', async () => {
    const subject = `erin-${world.suffix}`;
    await buildChain(server, world, subject);
    await buildChain(server, world, subject);
    const whole = await api.get(`/admin/audit?subject=${subject}`);
    expect(whole.body.items).toHaveLength(6);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Awaited<ReturnType<AdminApi['get']>> = await api.get(
        `/admin/audit?subject=${subject}&limit=4${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.status, page.text).toBe(200);
      seen.push(...page.body.items.map((item: { id: string }) => item.id));
      cursor = page.body.nextCursor;
      pages += 1;
    } while (cursor !== null && pages < 10);
    expect(pages).toBe(2);
    expect(seen).toEqual(whole.body.items.map((item: { id: string }) => item.id));
    // A new event does not shift the pages already handed out.
    const first = await api.get(`/admin/audit?subject=${subject}&limit=4`);
    await buildChain(server, world, subject);
    const second = await api.get(`/admin/audit?subject=${subject}&limit=4&cursor=${first.body.nextCursor}`);
    expect(second.body.items.map((item: { id: string }) => item.id)).toEqual(seen.slice(4));
  });

  it.each([
    ['limit=0', 'validation_failed'],
    ['limit=201', 'validation_failed'],
    ['decision=maybe', 'validation_failed'],
    ['from=yesterday', 'validation_failed'],
    ['from=2024-13-45T25:61:61Z', 'validation_failed'],
    ['sort=id', 'validation_failed'],
    ["agent=' OR 1=1--&cursor=abc", 'invalid_cursor'],
    [`cursor=${Buffer.from('0').toString('base64url')}`, 'invalid_cursor'],
    [`cursor=${Buffer.from('12abc').toString('base64url')}`, 'invalid_cursor'],
  ])('refuses %s (400)', async (query, code) => {
    expectProblem(await api.get(`/admin/audit?${query}`), 400, code);
  });
});

describe('GET /admin/chains/{txn}', () => {
  it('shows the delegation tree, parent → child, with statuses', async () => {
    const chain = await buildChain(server, world);
    // The tree branches twice: C exchanges hop 2 a second time (then revokes that token), and B
    // exchanges hop 1 a second time.
    const hop3b = await exchange(server, world.c, { subject_token: chain.hop2, resource: world.resource });
    await revoke(server, world.c, hop3b.token);
    const hop2b = await exchange(server, world.b, { subject_token: chain.hop1, audience: world.c.id });

    const response = await api.get(`/admin/chains/${chain.txn}`);
    expect(response.status, response.text).toBe(200);
    expect(response.body.txn).toBe(chain.txn);
    expect(response.body.tokenCount).toBe(5);
    expect(response.body.roots).toHaveLength(1);
    const root = response.body.roots[0];
    expect(root).toMatchObject({
      jti: chain.jtis[0],
      parentJti: null,
      actor: world.a.id,
      sub: 'alice',
      aud: world.b.id,
      scopes: [SCOPE],
      depth: 1,
      status: 'live',
      revokedAt: null,
    });
    expect(Date.parse(root.issuedAt)).toBeLessThanOrEqual(Date.parse(root.expiresAt));
    // Siblings come oldest first; tokens issued in the same second may come in either order.
    type Node = { jti: string; status: string; revokedAt: string | null; children: Node[] };
    const child = (node: Node, jti: unknown): Node => {
      const found = node.children.find((candidate) => candidate.jti === jti);
      if (!found) throw new Error(`no child ${String(jti)} under ${node.jti}`);
      return found;
    };
    expect(root.children).toHaveLength(2);
    const hop2 = child(root, chain.jtis[1]);
    expect(hop2).toMatchObject({
      actor: world.b.id,
      aud: world.c.id,
      depth: 2,
      parentJti: chain.jtis[0],
      impersonation: false,
      jkt: null,
    });
    expect(hop2.children).toHaveLength(2);
    expect(child(hop2, chain.jtis[2])).toMatchObject({ status: 'live', revokedAt: null, children: [] });
    expect(child(hop2, hop3b.claims.jti)).toMatchObject({ status: 'revoked', children: [] });
    expect(child(hop2, hop3b.claims.jti).revokedAt).not.toBeNull();
    expect(child(root, hop2b.claims.jti)).toMatchObject({ actor: world.b.id, status: 'live', children: [] });
  });

  it('shows expired tokens as expired, and revocation inherited down the tree', async () => {
    const shortLived = await registerAgent(server, {
      id: `ir-c-ttl-${world.suffix}`,
      allowedScopes: [SCOPE],
      allowedAudiences: [world.resource],
      tokenTtlSeconds: 1,
    });
    const b3 = await registerAgent(server, {
      id: `ir-b3-${world.suffix}`,
      allowedScopes: [SCOPE],
      allowedAudiences: [shortLived.id, world.c.id],
    });
    const a3 = await registerAgent(server, {
      id: `ir-a3-${world.suffix}`,
      allowedScopes: [SCOPE],
      allowedAudiences: [b3.id],
    });
    const user = await world.idp.sign({ sub: 'frank', aud: a3.id, scope: SCOPE });
    const hop1 = await exchange(server, a3, { subject_token: user, audience: b3.id });
    const toShort = await exchange(server, b3, { subject_token: hop1.token, audience: shortLived.id });
    const expiring = await exchange(server, shortLived, {
      subject_token: toShort.token,
      resource: world.resource,
    });
    const toC = await exchange(server, b3, { subject_token: hop1.token, audience: world.c.id });
    await new Promise((resolve) => setTimeout(resolve, 2_100));

    let tree = (await api.get(`/admin/chains/${hop1.claims.txn}`)).body;
    const statuses = (node: { jti: string; status: string; children: unknown[] }): [string, string][] => [
      [node.jti, node.status],
      ...node.children.flatMap((child) => statuses(child as typeof node)),
    ];
    expect(Object.fromEntries(statuses(tree.roots[0]))).toEqual({
      [hop1.claims.jti as string]: 'live',
      [toShort.claims.jti as string]: 'live',
      [expiring.claims.jti as string]: 'expired',
      [toC.claims.jti as string]: 'live',
    });

    await api.post('/admin/revocations', { jti: hop1.claims.jti });
    tree = (await api.get(`/admin/chains/${hop1.claims.txn}`)).body;
    expect(Object.fromEntries(statuses(tree.roots[0]))).toEqual({
      [hop1.claims.jti as string]: 'revoked',
      [toShort.claims.jti as string]: 'revoked',
      // Revoked after it had expired: it stays expired.
      [expiring.claims.jti as string]: 'expired',
      [toC.claims.jti as string]: 'revoked',
    });
  });

  it('answers 404 for an unknown chain', async () => {
    expectProblem(await api.get('/admin/chains/no-such-txn'), 404, 'not_found');
  });
});
