/**
 * Renders a dashboard's panels to a PNG in a real browser: the data comes from Prometheus's HTTP API
 * (prometheus-api.ts), the page (page/) lays the panels out on Grafana's grid and draws them with uPlot, the
 * chart library Grafana's own timeseries panel is built on, and Debian's Chromium (puppeteer-core) takes the
 * screenshot. Grafana itself is not involved: this draws the dashboard JSON's own queries, titles, layout,
 * legends and units, not Grafana's full styling.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import type { DashboardPlan } from './dashboard';
import { panelData, rangeSteps, type TimeRange } from './prometheus-api';

const ROOT = join(__dirname, '..', '..');
const PAGE = join(__dirname, 'page');

export interface RenderOptions {
  dashboard: DashboardPlan;
  prometheusUrl: string;
  range: TimeRange;
  /** Where the PNG goes (its folder is made). */
  out: string;
  /** A line under the title: what the picture shows and how it was made. */
  subtitle: string;
  /** Page width in CSS pixels. @defaultValue 1600 */
  width?: number;
  /** @defaultValue Chromium found by scripts/install-chromium.mjs (which installs it when missing) */
  chromiumPath?: string;
}

/** What one panel drew, read back from the page's data attributes. */
export interface DrawnPanel {
  id: number;
  title: string;
  /** Series with at least one point on the panel. */
  series: number;
  points: number;
}

/** Debian's Chromium, installed first by scripts/install-chromium.mjs when it is missing. */
export function chromiumPath(): string {
  const install = spawnSync(process.execPath, [join(ROOT, 'scripts', 'install-chromium.mjs')], { stdio: 'inherit' });
  if (install.status !== 0) throw new Error('scripts/install-chromium.mjs could not provide chromium');
  const which = spawnSync('sh', ['-c', 'command -v chromium || echo /usr/bin/chromium'], { encoding: 'utf8' });
  return which.stdout.trim();
}

/**
 * Starts headless Chromium. Its first start on a fresh machine builds the font cache and, beside a busy test
 * suite on two cores, has taken more than 30 s to print its DevTools address; so it gets 90 s, and one more try.
 */
export async function launchChromium(executablePath: string): Promise<Browser> {
  const launch = (timeout: number) =>
    puppeteer.launch({
      executablePath,
      headless: true,
      // Root in a container has no user namespaces for Chromium's sandbox; the page is our own, from a string.
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--font-render-hinting=none'],
      timeout,
    });
  try {
    return await launch(90_000);
  } catch (error) {
    if (!(error instanceof Error && error.name === 'TimeoutError')) throw error;
    console.warn(`[dashboard-picture] Chromium did not start in 90 s (${error.message}); trying once more`);
    return launch(60_000);
  }
}

/** Queries every panel, draws the page in Chromium, writes the PNG; answers what each panel drew. */
export async function renderDashboard(options: RenderOptions): Promise<DrawnPanel[]> {
  const width = options.width ?? 1600;
  const panels = [];
  for (const panel of options.dashboard.panels)
    panels.push(await panelData(options.prometheusUrl, panel, options.range));
  const model = {
    title: options.dashboard.title,
    subtitle: options.subtitle,
    width,
    // uPlot's time axis is in seconds.
    x: rangeSteps(options.range),
    panels,
  };
  const html = [
    '<!doctype html><html><head><meta charset="utf-8">',
    `<style>${readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8')}</style>`,
    `<style>${readFileSync(join(PAGE, 'dashboard.css'), 'utf8')}</style>`,
    `</head><body><div id="dashboard" style="width:${width}px"></div>`,
    `<script>${readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8')}</script>`,
    `<script>${readFileSync(join(PAGE, 'draw-dashboard.js'), 'utf8')}</script>`,
    '</body></html>',
  ].join('\n');

  const browser = await launchChromium(options.chromiumPath ?? chromiumPath());
  try {
    const page = await browser.newPage();
    await page.setViewport({ width, height: 900, deviceScaleFactor: 1 });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    await page.setContent(html, { waitUntil: 'load', timeout: 30_000 });
    // Strings, not functions: tsx's and swc's transforms add helpers to a function that the page lacks.
    await page.evaluate(`window.drawDashboard(${JSON.stringify(model)})`);
    if (errors.length > 0) throw new Error(`the page failed: ${errors.join('\n')}`);
    const drawn = (await page.evaluate(
      `[...document.querySelectorAll('[data-panel-id]')].map((node) => ({
        id: Number(node.dataset.panelId),
        title: node.dataset.title,
        series: Number(node.dataset.series),
        points: Number(node.dataset.points),
      }))`,
    )) as DrawnPanel[];
    mkdirSync(dirname(options.out), { recursive: true });
    const root = await page.$('#dashboard');
    if (!root) throw new Error('the page has no #dashboard');
    await root.screenshot({ path: options.out as `${string}.png`, type: 'png' });
    return drawn;
  } finally {
    await browser.close();
  }
}
