/// <reference lib="dom" />
/**
 * The Temporal Web UI, in a real Chromium, against a dev server started as `npm start` starts it (with
 * --ui-codec-endpoint at Herald's /codec): a message's page shows its planted body marker and credential
 * only to a browser signed in with an API key (POST /codec/session) whose codec settings include
 * cross-origin credentials; a browser without the sign-in, or without the settings, sees neither.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { chromiumPath, launchChromium } from '../../scripts/dashboard-picture/render';
import { freePort } from '../../scripts/free-port';
import { loadConfig } from '../../src/config/config';
import { createLogger } from '../../src/observability/logger';
import { openResources, type HeraldResources } from '../../src/runtime/resources';
import { startDevServer, type DevServer } from '../../src/temporal/dev-server';
import { findTemporalCli } from '../../src/temporal/temporal-cli';
import { API_KEY, TEST_API_ENV } from '../helpers/api';
import { startDownstream, type Downstream } from '../helpers/downstream';
import { TEST_ENV, testHerald, uniqueId } from '../helpers/herald';

const SECRET = 'planted-ui-credential-93be';
const MARKER = 'planted-ui-marker-4c1d';

let dataDir: string;
let devServer: DevServer | undefined;
let resources: HeraldResources<{ worker: { workflowBundle: { codePath: string } }; api: true }> | undefined;
let downstream: Downstream | undefined;
let browser: Browser | undefined;
let apiPort: number;
let uiPort: number;
let id: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'herald-web-ui-'));
  const [temporalPort, ui, api] = [await freePort(), await freePort(), await freePort()];
  uiPort = ui;
  apiPort = api;
  devServer = await startDevServer({
    cliPath: findTemporalCli({ install: false, log: () => undefined }).path,
    port: temporalPort,
    uiPort,
    uiCodecEndpoint: `http://localhost:${apiPort}/codec`,
    namespace: 'default',
    dataDir,
    inMemory: true,
    log: () => undefined,
  });
  const config = loadConfig({
    ...TEST_ENV,
    ...TEST_API_ENV,
    TEMPORAL_ADDRESS: devServer.address,
    HERALD_TASK_QUEUE: uniqueId('web-ui'),
    HERALD_DATA_DIR: dataDir,
    HERALD_API_PORT: String(apiPort),
    HERALD_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 3).toString('base64')}`,
    HERALD_CODEC_CORS_ORIGINS: `http://localhost:${uiPort}`,
  });
  resources = await openResources(config, {
    logger: createLogger('silent'),
    worker: { workflowBundle: { codePath: process.env.HERALD_TEST_WORKFLOW_BUNDLE! } },
    api: true,
  });
  downstream = await startDownstream();
  id = uniqueId('ui');
  const herald = testHerald(resources);
  const response = await fetch(`http://127.0.0.1:${apiPort}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      id,
      destination: { url: downstream.url('/ui'), headers: { authorization: `Bearer ${SECRET}` } },
      body: { note: MARKER },
      reply: { timeout: '10m' },
    }),
  });
  expect(response.status).toBe(202);
  await herald.waitForState(id, 'awaiting_reply');
  browser = await launchChromium(chromiumPath());
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await resources?.close();
  await downstream?.close();
  await devServer?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** What the message's page in the Web UI shows, in a fresh browser profile prepared by `prepare`. */
async function workflowPageText(prepare: (page: Page) => Promise<void>): Promise<string> {
  const context = await browser!.createBrowserContext();
  try {
    const page = await context.newPage();
    await prepare(page);
    await page.goto(`http://localhost:${uiPort}/namespaces/default/workflows/${id}`, { waitUntil: 'networkidle2' });
    // The input is decoded after the page loads: wait for it, briefly, in every case.
    await page
      .waitForFunction((marker) => document.body.innerText.includes(marker), { timeout: 8_000 }, MARKER)
      .catch(() => undefined);
    await page
      .waitForFunction(() => document.body.innerText.includes('Input'), { timeout: 8_000 })
      .catch(() => undefined);
    return await page.evaluate(() => document.body.innerText);
  } finally {
    await context.close();
  }
}

/** The UI's own codec settings (the cog by the codec server), as an operator sets them once per browser. */
async function includeCredentials(page: Page): Promise<void> {
  await page.goto(`http://localhost:${uiPort}/`);
  await page.evaluate((endpoint) => {
    localStorage.setItem('overrideRemoteCodecConfiguration', 'true');
    localStorage.setItem('endpoint', JSON.stringify(endpoint));
    localStorage.setItem('includeCredentials', 'true');
  }, `http://localhost:${apiPort}/codec`);
}

async function signIn(page: Page): Promise<void> {
  await page.goto(`http://localhost:${apiPort}/healthz`);
  const status = await page.evaluate(async (key) => {
    const response = await fetch('/codec/session', { method: 'POST', headers: { authorization: `Bearer ${key}` } });
    return response.status;
  }, API_KEY);
  expect(status).toBe(200);
}

test('a signed-in operator sees the body marker and the credential', async () => {
  const text = await workflowPageText(async (page) => {
    await signIn(page);
    await includeCredentials(page);
  });
  expect(text).toContain(MARKER);
  expect(text).toContain(SECRET);
}, 60_000);

test('a browser that is not signed in sees neither, with or without the settings', async () => {
  for (const prepare of [async () => undefined, includeCredentials]) {
    const text = await workflowPageText(prepare);
    expect(text).toContain(id);
    expect(text).not.toContain(MARKER);
    expect(text).not.toContain(SECRET);
  }
}, 60_000);

test('signed in but without "include cross-origin credentials", the cookie stays home and nothing is decoded', async () => {
  const text = await workflowPageText(signIn);
  expect(text).not.toContain(MARKER);
}, 60_000);
