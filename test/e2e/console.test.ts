/**
 * The web console in a real headless Chromium (CONTRACT §6): sign in with the admin token, see an
 * agent named like markup rendered as text, register an agent through the form, follow the audit
 * row of the last hop of a three-hop chain (IdP → agent-a → agent-b → agent-c → a resource) to the
 * chain's tree, and see every hop drawn, then the revoked and dead-agent hops marked. The page must
 * run without a single CSP violation. A screenshot of the chain goes to test-output/.
 *
 * Chromium is Debian's (`apt-get install chromium`; CHROMIUM_PATH overrides). Without it the file
 * is skipped with a printed reason on a developer machine, and fails in CI (CI set).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  disableAgent,
  registerAgent,
  registerResource,
  registerTrustedIssuer,
  uniqueSuffix,
} from '../helpers/fixtures.js';
import { createExternalIssuer, exchange, type TestAgent } from '../helpers/oauth.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

// Browser globals, for the callbacks that run in the page: this program is compiled without the DOM library.
declare const window: { __cspViolations: string[]; __xss?: number };
declare const document: {
  addEventListener(
    type: string,
    listener: (event: { violatedDirective: string; blockedURI: string }) => void,
  ): void;
};
declare const sessionStorage: { readonly length: number };
declare const localStorage: { readonly length: number };

const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Required on this kind of machine (containers, no GPU, no network beyond loopback). */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const OUTPUT_DIRECTORY = path.resolve(import.meta.dirname, '..', '..', 'test-output');
const BROWSER_TIMEOUT_MS = 120_000;

const chromiumMissing = !existsSync(CHROMIUM_PATH);
const inCi = Boolean(process.env.CI);
if (chromiumMissing && !inCi) {
  console.warn(
    `test/e2e/console.test.ts skipped: no Chromium at ${CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH); in CI this fails`,
  );
}

const suffix = uniqueSuffix();
const CALENDAR = `https://calendar-${suffix}.example/api`;
const AGENT_A = `agent-a-${suffix}`;
const AGENT_B = `agent-b-${suffix}`;
const AGENT_C = `agent-c-${suffix}`;
const MARKUP_NAME = '<img src=x onerror="window.__xss=1">';
const FORM_AGENT = `console-made-${suffix}`;

let server: TestServer;
let context: BrowserContext;
let page: Page;
let userDataDir: string;
let agentA: TestAgent;
let agentB: TestAgent;
let agentC: TestAgent;
const pageErrors: string[] = [];
const cspMessages: string[] = [];

async function adminGet(pathname: string): Promise<Response> {
  return fetch(server.baseUrl + pathname, { headers: { authorization: `Bearer ${server.adminToken}` } });
}

async function agentField(id: string, name: string): Promise<unknown> {
  const response = await adminGet(`/admin/agents/${encodeURIComponent(id)}`);
  return ((await response.json()) as Record<string, unknown>)[name];
}

async function adminPost(pathname: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(server.baseUrl + pathname, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

async function screenshotChain(file: string): Promise<void> {
  mkdirSync(OUTPUT_DIRECTORY, { recursive: true });
  await page.locator('.chain-view').screenshot({ path: path.join(OUTPUT_DIRECTORY, file) });
}

/** The three hops' claims: IdP token → agent-a → agent-b → agent-c → the calendar. */
async function buildThreeHopChain() {
  const idp = await createExternalIssuer(`https://idp-${suffix}.example`);
  await registerTrustedIssuer(server, {
    issuer: idp.issuer,
    jwks: idp.jwks,
    audiences: [`https://sts-${suffix}.example`],
  });
  const userToken = await idp.sign(
    { sub: 'alice', aud: AGENT_A, scope: 'calendar.read calendar.write' },
    { ttl: 900 },
  );
  const hop1 = await exchange(server, agentA, { subject_token: userToken, audience: AGENT_B });
  const hop2 = await exchange(server, agentB, { subject_token: hop1.token, audience: AGENT_C });
  const hop3 = await exchange(server, agentC, {
    subject_token: hop2.token,
    audience: CALENDAR,
    scope: 'calendar.read',
  });
  return [hop1.claims, hop2.claims, hop3.claims];
}

let hops: Awaited<ReturnType<typeof buildThreeHopChain>>;

describe.skipIf(chromiumMissing && !inCi)('the web console in Chromium', () => {
  beforeAll(async () => {
    if (chromiumMissing) throw new Error(`Chromium is required in CI and missing at ${CHROMIUM_PATH}`);
    server = await startTestServer();
    await registerResource(server, { id: CALENDAR, scopes: ['calendar.read', 'calendar.write'] });
    agentA = await registerAgent(server, {
      id: AGENT_A,
      allowedScopes: ['calendar.read', 'calendar.write'],
      allowedAudiences: [AGENT_B],
    });
    agentB = await registerAgent(server, {
      id: AGENT_B,
      allowedScopes: ['calendar.read', 'calendar.write'],
      allowedAudiences: [AGENT_C],
    });
    agentC = await registerAgent(server, {
      id: AGENT_C,
      allowedScopes: ['calendar.read'],
      allowedAudiences: [CALENDAR],
    });
    await registerAgent(server, { id: `markup-${suffix}`, name: MARKUP_NAME });
    hops = await buildThreeHopChain();

    userDataDir = mkdtempSync(path.join(tmpdir(), 'agent-sts-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 900 },
    });
    // Injected by the DevTools protocol, not by the page: the CSP does not apply to it.
    await context.addInitScript(() => {
      const seen: string[] = [];
      window.__cspViolations = seen;
      document.addEventListener('securitypolicyviolation', (event) => {
        seen.push(`${event.violatedDirective} ${event.blockedURI}`);
      });
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (/Content.Security.Policy/i.test(message.text())) cspMessages.push(message.text());
    });
  }, BROWSER_TIMEOUT_MS);

  afterAll(async () => {
    await context?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    await server?.close();
  });

  it(
    'refuses a wrong token with the problem detail, then signs in with the admin token',
    async () => {
      await page.goto(`${server.baseUrl}/console`);
      expect(new URL(page.url()).pathname).toBe('/console/');
      await page.fill('#token', 'not-the-admin-token');
      await page.click('#sign-in button[type=submit]');
      await expect
        .poll(() => page.textContent('#notice'))
        .toContain('a valid admin bearer token is required');

      await page.fill('#token', server.adminToken);
      await page.click('#sign-in button[type=submit]');
      await page.waitForSelector('.collection-agents table.list');
      expect(await page.evaluate(() => sessionStorage.length)).toBe(1);
      expect(await page.evaluate(() => localStorage.length)).toBe(0);
      expect(await page.context().cookies()).toEqual([]);
    },
    BROWSER_TIMEOUT_MS,
  );

  it(
    'renders an agent named like markup as text, never as an element',
    async () => {
      const row = page.locator(`tr[data-id="markup-${suffix}"]`);
      await expect.poll(() => row.locator('.name').textContent()).toBe(MARKUP_NAME);
      expect(await page.locator('main img').count()).toBe(0);
      expect(await page.evaluate(() => window.__xss)).toBeUndefined();
    },
    BROWSER_TIMEOUT_MS,
  );

  it(
    'registers an agent through the form and shows its secret once',
    async () => {
      await page.click('a.button.primary:has-text("New agent")');
      await page.fill('#field-id', FORM_AGENT);
      await page.fill('#field-name', 'Made in the console');
      await page.fill('#field-allowedScopes', 'calendar.read');
      await page.fill('#field-allowedAudiences', CALENDAR);
      await page.click('#agents-form button[type=submit]');
      const secret = (await page.textContent('#client-secret')) ?? '';
      expect(secret.length).toBeGreaterThan(20);

      const response = await adminGet(`/admin/agents/${encodeURIComponent(FORM_AGENT)}`);
      expect(response.status).toBe(200);
      const agent = (await response.json()) as Record<string, unknown>;
      expect(agent).toMatchObject({
        id: FORM_AGENT,
        name: 'Made in the console',
        status: 'enabled',
        allowedScopes: ['calendar.read'],
        allowedAudiences: [CALENDAR],
      });
      expect(agent).not.toHaveProperty('clientSecret');
    },
    BROWSER_TIMEOUT_MS,
  );

  it(
    "follows the audit row of the chain's last hop to the chain and draws every hop",
    async () => {
      const [hop1, hop2, hop3] = hops;
      await page.click('#nav a[data-section="audit"]');
      const row = page.locator(`tr.audit-row[data-jti="${String(hop3?.jti)}"]`);
      await expect.poll(() => row.locator('td.client').textContent()).toBe(AGENT_C);
      await row.locator('a.chain-link').click();
      await page.waitForSelector('.chain-view .hop');
      expect(decodeURIComponent(new URL(page.url()).hash)).toBe(`#/chains/${String(hop3?.txn)}`);
      expect(await page.textContent('.chain-view h1 .txn')).toBe(hop3?.txn);

      const drawn = await page.$$eval('.chain-view .hop', (cards) =>
        cards.map((card) => ({
          jti: card.getAttribute('data-jti'),
          status: card.getAttribute('data-status'),
          actor: card.querySelector('.actor')?.textContent,
          audience: card.querySelector('.audience')?.textContent,
          scopes: [...card.querySelectorAll('.scope')].map((scope) => scope.textContent),
          issued: card.querySelector('.issued time')?.getAttribute('datetime'),
          expires: card.querySelector('.expires time')?.getAttribute('datetime'),
        })),
      );
      const expected = [hop1, hop2, hop3].map((claims) => ({
        jti: claims?.jti,
        status: 'live',
        actor: claims?.client_id,
        audience: claims?.aud,
        scopes: String(claims?.scope).split(' '),
        issued: new Date(Number(claims?.iat) * 1000).toISOString(),
        expires: new Date(Number(claims?.exp) * 1000).toISOString(),
      }));
      expect(drawn).toEqual(expected);
      expect(drawn.map((hop) => hop.actor)).toEqual([AGENT_A, AGENT_B, AGENT_C]);
      // A tree, not a list: each hop is drawn inside its parent's branch.
      const nested = page.locator(
        '.tree-root > ul.tree > li > ul.tree > li > ul.tree > li > .hop[data-actor="' + AGENT_C + '"]',
      );
      expect(await nested.count()).toBe(1);
      expect(await page.textContent('.origin .subject')).toBe('alice');

      await screenshotChain('console-chain-live.png');
    },
    BROWSER_TIMEOUT_MS,
  );

  it(
    'marks the revoked branch and the hop of a disabled agent after a reload',
    async () => {
      const [hop1, hop2, hop3] = hops;
      const revoked = await adminPost('/admin/revocations', { jti: hop2?.jti });
      expect(revoked.jtis).toEqual(expect.arrayContaining([hop2?.jti, hop3?.jti]));
      await disableAgent(server, AGENT_C);
      await page.reload();
      await page.waitForSelector('.chain-view .hop');

      const status = (jti: unknown) => page.locator(`.hop[data-jti="${String(jti)}"]`);
      expect(await status(hop1?.jti).getAttribute('data-status')).toBe('live');
      for (const jti of [hop2?.jti, hop3?.jti]) {
        expect(await status(jti).getAttribute('data-status')).toBe('revoked');
        expect(await status(jti).getAttribute('class')).toContain('status-revoked');
        expect(await status(jti).locator('.badge-revoked').textContent()).toBe('revoked');
        // Nothing left to revoke below a revoked hop.
        expect(await status(jti).locator('.hop-actions').count()).toBe(0);
      }
      expect(await status(hop1?.jti).locator('.marks').textContent()).toBe('live');
      expect(await status(hop3?.jti).locator('.badge-agent-dead').textContent()).toBe('agent disabled');
      expect(await status(hop3?.jti).getAttribute('class')).toContain('agent-dead');

      await screenshotChain('console-chain.png');
    },
    BROWSER_TIMEOUT_MS,
  );

  it(
    'revokes a branch from its button, after a second click confirms it',
    async () => {
      const [hop1] = hops;
      const card = page.locator(`.hop[data-jti="${String(hop1?.jti)}"]`);
      const button = card.locator('.hop-actions button');
      await button.click();
      expect(await button.textContent()).toContain('Confirm');
      expect(await card.getAttribute('data-status')).toBe('live');
      await button.click();
      await expect.poll(() => card.getAttribute('data-status')).toBe('revoked');
      await expect.poll(() => page.textContent('#notice')).toContain('Revoked');
      const chain = await (await adminGet(`/admin/chains/${String(hop1?.txn)}`)).json();
      expect(JSON.stringify(chain)).not.toContain('"status":"live"');
    },
    BROWSER_TIMEOUT_MS,
  );

  it(
    'disables, enables and edits an agent from the list',
    async () => {
      await page.click('#nav a[data-section="agents"]');
      const row = () => page.locator(`tr[data-id="${FORM_AGENT}"]`);
      await row().locator('button:has-text("Disable")').click();
      await expect.poll(() => row().locator('.badge').textContent()).toBe('disabled');
      expect(await agentField(FORM_AGENT, 'status')).toBe('disabled');
      await row().locator('button:has-text("Enable")').click();
      await expect.poll(() => row().locator('.badge').textContent()).toBe('enabled');

      await row().locator('a:has-text("Edit")').click();
      await page.waitForSelector('#agents-form');
      expect(await page.inputValue('#field-allowedScopes')).toBe('calendar.read');
      await page.fill('#field-name', 'Renamed in the console');
      await page.click('#agents-form button[type=submit]');
      await expect.poll(() => row().locator('.name').textContent()).toBe('Renamed in the console');
      expect(await agentField(FORM_AGENT, 'name')).toBe('Renamed in the console');
      expect(await agentField(FORM_AGENT, 'allowedAudiences')).toEqual([CALENDAR]);
    },
    BROWSER_TIMEOUT_MS,
  );

  it(
    'creates a resource, and filters the audit log by agent and decision',
    async () => {
      const resource = `https://mail-${suffix}.example/api`;
      await page.click('#nav a[data-section="resources"]');
      await page.click('a.button.primary:has-text("New resource")');
      await page.fill('#field-id', resource);
      await page.fill('#field-scopes', 'mail.read mail.send');
      await page.click('#resources-form button[type=submit]');
      const row = page.locator(`tr[data-id="${resource}"]`);
      await expect.poll(() => row.locator('.chip').allTextContents()).toEqual(['mail.read', 'mail.send']);

      await page.click('#nav a[data-section="audit"]');
      await page.fill('#filter-agent', AGENT_B);
      await page.selectOption('#filter-decision', 'granted');
      await page.click('#audit-filters button[type=submit]');
      await expect.poll(() => new URL(page.url()).hash).toBe(`#/audit?agent=${AGENT_B}&decision=granted`);
      await expect.poll(() => page.locator('tr.audit-row td.client').allTextContents()).toEqual([AGENT_B]);
    },
    BROWSER_TIMEOUT_MS,
  );

  it(
    'ran without a CSP violation or a script error, and signs out by forgetting the token',
    async () => {
      const violations = await page.evaluate(() => window.__cspViolations);
      expect(violations).toEqual([]);
      expect(cspMessages).toEqual([]);
      expect(pageErrors).toEqual([]);

      await page.click('#sign-out');
      await page.waitForSelector('#sign-in');
      expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
      await page.reload();
      await page.waitForSelector('#sign-in');
    },
    BROWSER_TIMEOUT_MS,
  );
});
