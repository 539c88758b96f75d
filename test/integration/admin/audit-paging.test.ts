/**
 * `GET /admin/audit` pages newest first by (time, id) across day partitions (ADR 0022): a page
 * that the last day cannot fill reads further back, ties in time go by id, an event whose id is
 * newer than its time (written by a slower transaction) takes its place by time, and a cursor of
 * the earlier id-only form still pages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { adminApi, type AdminApi } from './admin-client.js';

let server: TestServer;
let api: AdminApi;

beforeAll(async () => {
  server = await startTestServer();
  api = adminApi(server);
});

afterAll(async () => {
  await server?.close();
});

const HOUR = 3_600_000;

/** Inserts events of `subject` at the given times (ms before now), in this order, so ids rise along it. */
async function insertEvents(subject: string, agesMs: readonly number[]): Promise<void> {
  const now = Date.now();
  for (const age of agesMs) {
    await server.database.query(
      `INSERT INTO audit_events (at, decision, rule, client_id, subject) VALUES ($1, 'granted', 'granted', 'paging-agent', $2)`,
      [new Date(now - age), subject],
    );
  }
}

interface Item {
  readonly id: string;
  readonly at: string;
}

async function pages(query: string, limit: number): Promise<{ items: Item[]; count: number }> {
  const items: Item[] = [];
  let cursor: string | null = null;
  let count = 0;
  do {
    const page: Awaited<ReturnType<AdminApi['get']>> = await api.get(
      `/admin/audit?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
    );
    expect(page.status, page.text).toBe(200);
    items.push(...(page.body.items as Item[]));
    cursor = page.body.nextCursor;
    count += 1;
  } while (cursor !== null && count < 50);
  return { items, count };
}

/** Newest first by time, then by id. */
function newestFirst(items: readonly Item[]): Item[] {
  return [...items].sort(
    (a, b) => Date.parse(b.at) - Date.parse(a.at) || Number(BigInt(b.id) - BigInt(a.id)),
  );
}

describe('GET /admin/audit paging', () => {
  it('pages newest first through events spread over many days, none repeated or skipped', async () => {
    // Two in the last day, the rest days and weeks back, one written out of time order.
    await insertEvents('spread', [
      40 * 24 * HOUR,
      1 * HOUR,
      3 * 24 * HOUR,
      2 * HOUR,
      10 * 24 * HOUR,
      30 * HOUR,
    ]);
    await insertEvents('spread', [5 * 24 * HOUR, 26 * HOUR]);
    const whole = await api.get('/admin/audit?subject=spread&limit=200');
    expect(whole.body.items).toHaveLength(8);
    expect(whole.body.items).toEqual(newestFirst(whole.body.items));
    for (const limit of [1, 2, 3, 5]) {
      const paged = await pages('subject=spread', limit);
      expect(paged.items.map((item) => item.id)).toEqual(whole.body.items.map((item: Item) => item.id));
      expect(paged.count).toBe(Math.ceil(8 / limit));
    }
  });

  it('orders events of the same instant by id, and pages between them', async () => {
    const at = new Date(Date.now() - 2 * 24 * HOUR);
    for (let i = 0; i < 5; i += 1) {
      await server.database.query(
        `INSERT INTO audit_events (at, decision, rule, subject) VALUES ($1, 'denied', 'scope_escalation', 'ties')`,
        [at],
      );
    }
    const whole = await api.get('/admin/audit?subject=ties');
    const ids = whole.body.items.map((item: Item) => BigInt(item.id));
    expect(ids).toEqual([...ids].sort((a, b) => (a < b ? 1 : -1)));
    const paged = await pages('subject=ties', 2);
    expect(paged.items.map((item) => item.id)).toEqual(whole.body.items.map((item: Item) => item.id));
  });

  it('keeps from and to when a page reaches past the last day', async () => {
    const from = new Date(Date.now() - 12 * 24 * HOUR).toISOString();
    const to = new Date(Date.now() - 25 * HOUR).toISOString();
    const paged = await pages(`subject=spread&from=${from}&to=${to}`, 1);
    expect(paged.items).toHaveLength(5);
    for (const item of paged.items) {
      expect(Date.parse(item.at)).toBeGreaterThanOrEqual(Date.parse(from));
      expect(Date.parse(item.at)).toBeLessThanOrEqual(Date.parse(to));
    }
  });

  it('still follows a cursor of the earlier id-only form', async () => {
    const whole = await api.get('/admin/audit?subject=spread&limit=200');
    const byId = [...(whole.body.items as Item[])].sort((a, b) => Number(BigInt(b.id) - BigInt(a.id)));
    const pivot = byId[2] as Item;
    const cursor = Buffer.from(pivot.id, 'utf8').toString('base64url');
    const page = await api.get(`/admin/audit?subject=spread&limit=200&cursor=${cursor}`);
    expect(page.status, page.text).toBe(200);
    const expected = newestFirst(byId.slice(3));
    expect(page.body.items.map((item: Item) => item.id)).toEqual(expected.map((item) => item.id));
  });
});
