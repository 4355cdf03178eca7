/**
 * The operator console in a real browser (Debian's Chromium, driven by puppeteer-core) against a real
 * Herald: sign in with a key by keyboard, see a dead letter this test made, open it, redrive it, watch the
 * message reach `delivered` on its live timeline, and bulk-redrive a filter of 20 with the count shown
 * first. The page runs under its Content-Security-Policy (any violation fails the test), fits a phone's
 * width, and a screenshot of each page is written to test/.tmp/console/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { request } from 'undici';
import { chromiumPath, launchChromium } from '../../scripts/dashboard-picture/render';
import { API_KEY, type TestApi } from '../helpers/api';
import { startDownstream, type Downstream } from '../helpers/downstream';
import { startFixture, type HeraldFixture } from '../helpers/fixture';
import { uniqueId, type TestHerald } from '../helpers/herald';

const SHOTS = join(__dirname, '..', '.tmp', 'console');

let fixture: HeraldFixture;
let herald: TestHerald;
let api: TestApi;
let browser: Browser;
let page: Page;
const violations: string[] = [];

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  // The Web UI address the console links messages to (the embedded default sets its own).
  fixture = await startFixture({ api: true, env: { HERALD_TEMPORAL_UI_URL: 'http://127.0.0.1:8233' } });
  ({ herald, api } = fixture);
  browser = await launchChromium(chromiumPath());
  page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
  });
  page.on('pageerror', (error) => violations.push(`page error: ${String(error)}`));
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await fixture?.close();
});

/** Waits until the page's text contains `text` (inside `selector`). */
async function waitForText(selector: string, text: string, timeout = 30_000) {
  await page.waitForFunction(
    (sel, wanted) => [...document.querySelectorAll(sel)].some((el) => el.textContent?.includes(wanted)),
    { timeout },
    selector,
    text,
  );
}

async function clickButton(label: string) {
  await page.waitForFunction(
    (wanted) => [...document.querySelectorAll('button')].some((b) => b.textContent?.trim() === wanted && !b.disabled),
    { timeout: 30_000 },
    label,
  );
  await page.evaluate((wanted) => {
    [...document.querySelectorAll('button')].find((b) => b.textContent?.trim() === wanted)!.click();
  }, label);
}

async function deadLetter(downstream: Downstream, path: string): Promise<string> {
  const id = uniqueId('console');
  const sent = await api.call('POST', '/v1/messages', {
    json: { id, destination: { url: downstream.url(path) }, body: { id } },
  });
  expect(sent.status).toBe(202);
  return id;
}

test('the page is served with a CSP that allows no inline script or style, and no CDN', async () => {
  const response = await request(`${api.url}/console`);
  const html = await response.body.text();
  expect(response.statusCode).toBe(200);
  const csp = String(response.headers['content-security-policy']);
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("style-src 'self'");
  expect(csp).not.toContain('unsafe-inline');
  // No inline script or style, and every file from this origin (no CDN).
  expect(html).not.toMatch(/<script>|<style|style=|(src|href)="(https?:)?\/\//);
  expect(html).toContain('src="/console/assets/console.js"');
  const script = await request(`${api.url}/console/assets/console.js`);
  expect(script.headers['content-type']).toContain('text/javascript');
  expect((await script.body.text()).length).toBeGreaterThan(10_000);
});

test('sign in, find a dead letter, redrive it, and watch it delivered on the live timeline', async () => {
  const { downstream } = fixture;
  let healed = false;
  downstream.handle('/flaky', () => ({ status: healed ? 200 : 503 }));
  const id = await deadLetter(downstream, '/flaky');
  await herald.waitForState(id, 'dead_lettered', 30_000);

  await page.goto(`${api.url}/console`);
  await page.waitForSelector('#api-key');
  // By keyboard: the field has focus by Tab, Enter submits.
  await page.focus('#api-key');
  await page.keyboard.type(API_KEY);
  await page.keyboard.press('Enter');
  await page.waitForSelector('nav[aria-label="pages"]');
  await waitForText('h3', 'Dead letters waiting');
  await page.screenshot({ path: join(SHOTS, 'overview.png'), fullPage: true });

  await page.goto(`${api.url}/console#/dead-letters`);
  await waitForText('table a', id);
  await page.screenshot({ path: join(SHOTS, 'dead-letters.png'), fullPage: true });
  await page.evaluate((wanted) => {
    [...document.querySelectorAll('table a')]
      .find((a) => a.textContent === wanted)!
      .dispatchEvent(new MouseEvent('click', { bubbles: true }));
  }, id);
  await waitForText('h2', `Dead letter ${id}`);
  await waitForText('td', '503');
  await page.screenshot({ path: join(SHOTS, 'dead-letter.png'), fullPage: true });

  healed = true;
  await clickButton('Redrive');
  await waitForText('[role="status"]', 'Redriven.');
  await page.evaluate(() => {
    [...document.querySelectorAll('a')].find((a) => a.textContent === 'Follow the message')!.click();
  });
  await waitForText('[data-testid="timeline"]', 'delivered');
  // The whole story, in order: the first run's end, then the redrive's.
  const story = await page.$$eval('[data-testid="timeline"] strong', (items) => items.map((item) => item.textContent));
  expect(story.indexOf('dead_lettered')).toBeGreaterThanOrEqual(0);
  expect(story.lastIndexOf('delivered')).toBeGreaterThan(story.indexOf('dead_lettered'));
  await waitForText('[data-testid="message-state"]', 'delivered');
  expect(await page.$eval('a[target="_blank"]', (a) => (a as HTMLAnchorElement).href)).toContain(`/workflows/${id}`);
  await page.screenshot({ path: join(SHOTS, 'message.png'), fullPage: true });
  expect((await herald.status(id)).state).toBe('delivered');
}, 120_000);

test('bulk-redrive a filter of 20: the count first, then the redrive, and every one delivered', async () => {
  const other = await startDownstream();
  try {
    let healed = false;
    other.handle('/bulk', () => ({ status: healed ? 200 : 410 }));
    const ids: string[] = [];
    for (let i = 0; i < 20; i += 1) ids.push(await deadLetter(other, '/bulk'));
    for (const id of ids) await herald.waitForState(id, 'dead_lettered', 30_000);
    healed = true;

    await page.goto(`${api.url}/console#/dead-letters`);
    await page.waitForSelector('form[aria-label="filters"]');
    await page.type('form[aria-label="filters"] input[placeholder="api.example.com"]', `127.0.0.1:${other.port}`);
    // The filter applies on change (blur).
    await page.keyboard.press('Tab');
    await waitForText('table', ids[0]!);
    await clickButton('Redrive all matching…');
    await waitForText('[role="status"]', '20 dead letters match.');
    await page.screenshot({ path: join(SHOTS, 'bulk-redrive.png'), fullPage: true });
    await clickButton('Redrive 20');
    await waitForText('[role="status"]', 'Redrove 20 of 20.');
    for (const id of ids) await herald.waitForState(id, 'delivered', 30_000);
  } finally {
    await other.close();
  }
}, 180_000);

test('destinations: pause and resume from the page', async () => {
  const host = `127.0.0.1:${fixture.downstream.port}`;
  await page.goto(`${api.url}/console#/destinations`);
  await page.waitForSelector('form.filters input');
  // Not configured and nothing waiting for it: the operator looks it up by host.
  await page.type('form.filters input', host);
  await page.keyboard.press('Enter');
  await waitForText('td', host);
  await page.screenshot({ path: join(SHOTS, 'destinations.png'), fullPage: true });
  // The Pause/Resume button in the host's row: its label, and a press.
  const rowButton = (wanted: string) =>
    [...document.querySelectorAll('tr')].find((tr) => tr.textContent?.includes(wanted))?.querySelector('button');
  const labelOf = () => page.evaluate(`(${rowButton.toString()})(${JSON.stringify(host)})?.textContent`);
  const press = () => page.evaluate(`(${rowButton.toString()})(${JSON.stringify(host)}).click()`);
  const waitForLabel = (label: string) =>
    page.waitForFunction(
      `(${rowButton.toString()})(${JSON.stringify(host)})?.textContent === ${JSON.stringify(label)}`,
      {
        timeout: 15_000,
      },
    );
  expect(await labelOf()).toBe('Pause');
  await press();
  await waitForLabel('Resume');
  expect(
    (await api.call<{ settings: { paused?: boolean } }>('GET', `/v1/destinations/${host}`)).body.settings.paused,
  ).toBe(true);
  await press();
  await waitForLabel('Pause');
}, 60_000);

test('at a phone’s width nothing runs off the side, and the page broke no CSP rule', async () => {
  await page.setViewport({ width: 390, height: 844 });
  for (const route of ['#/overview', '#/dead-letters', '#/destinations']) {
    await page.goto(`${api.url}/console${route}`);
    await page.waitForSelector('nav[aria-label="pages"]');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    // Every control has a name a screen reader announces: a label, its text, or aria-label.
    const unnamed = await page.evaluate(() =>
      [...document.querySelectorAll('input, select, button, a')]
        .filter((el) => {
          const labelled = el.closest('label') ?? (el.id ? document.querySelector(`label[for="${el.id}"]`) : null);
          return !labelled && !el.getAttribute('aria-label') && !el.textContent?.trim();
        })
        .map((el) => el.outerHTML),
    );
    expect(unnamed).toEqual([]);
  }
  await page.screenshot({ path: join(SHOTS, 'phone-dead-letters.png'), fullPage: true });
  expect(violations).toEqual([]);
}, 60_000);
