/**
 * The dashboard picture (scripts/dashboard-picture/) end to end: a real Herald (one worker, one API) takes 20 s
 * of traffic to real downstreams, a real Prometheus scrapes it every second, and the renderer draws
 * deploy/grafana/herald-dashboard.json's panels from Prometheus's API in Debian's Chromium. Every panel of the
 * dashboard must have drawn at least one series with at least one point, as the page itself reports it, and
 * the PNG must be written. `npm run dashboard:picture` runs the same code for a minute.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readHeraldDashboard } from '../../scripts/dashboard-picture/dashboard';
import { startLocalRun, type LocalRun } from '../../scripts/dashboard-picture/local-run';
import { pictureOfRun, RATE_INTERVAL } from '../../scripts/dashboard-picture/picture';
import { sendTraffic } from '../../scripts/dashboard-picture/traffic';

const OUT_DIR = join(__dirname, '..', '.tmp');
const OUT = join(OUT_DIR, `dashboard-picture-${process.pid}.png`);

let run: LocalRun | undefined;

beforeAll(async () => {
  run = await startLocalRun();
}, 300_000);

afterAll(async () => {
  await run?.close();
  rmSync(OUT, { force: true });
});

test('every panel of the dashboard draws real data from Prometheus in Chromium, and the PNG is written', async () => {
  if (!run) throw new Error('the local run did not start');
  mkdirSync(OUT_DIR, { recursive: true });
  const trafficStartedAt = Date.now();
  const counts = await sendTraffic(run, { durationMs: 20_000 });
  expect(counts.accepted).toBeGreaterThan(0);
  expect(counts.duplicates).toBeGreaterThan(0);
  expect(counts.rejected).toBeGreaterThan(0);

  const drawn = await pictureOfRun(run, { trafficStartedAt, out: OUT, subtitle: 'dashboard-picture test' });

  const panels = readHeraldDashboard(RATE_INTERVAL).panels;
  expect(drawn.map((panel) => [panel.id, panel.title])).toEqual(panels.map((panel) => [panel.id, panel.title]));
  for (const panel of drawn) {
    expect({ title: panel.title, series: panel.series > 0, points: panel.points > 0 }).toEqual({
      title: panel.title,
      series: true,
      points: true,
    });
  }
  // A PNG (its signature), as wide as the page (IHDR's width), and taller than one row of panels.
  expect(existsSync(OUT)).toBe(true);
  const png = readFileSync(OUT);
  expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  expect(png.readUInt32BE(16)).toBe(1600);
  expect(png.readUInt32BE(20)).toBeGreaterThan(1000);
}, 300_000);
