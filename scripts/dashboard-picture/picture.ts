/**
 * The picture of a local run: waits until every panel's queries answer data (the last scrapes after the
 * traffic), then renders Herald's dashboard over the run's time range.
 */
import { eventually } from '../../test/helpers/eventually';
import { readHeraldDashboard } from './dashboard';
import type { LocalRun } from './local-run';
import { panelData, type TimeRange } from './prometheus-api';
import { renderDashboard, type DrawnPanel } from './render';

/** Grafana's `$__rate_interval` for a 1 s scrape and a 2 s step would be 4 s: 10 s smooths a short run. */
export const RATE_INTERVAL = '10s';
export const STEP_SECONDS = 2;

export interface PictureOptions {
  /** When the traffic started (ms since the epoch): the picture's range starts one step before. */
  trafficStartedAt: number;
  out: string;
  subtitle: string;
  /** How long to wait for every panel to have data. @defaultValue 30 s */
  settleTimeoutMs?: number;
}

export async function pictureOfRun(run: LocalRun, options: PictureOptions): Promise<DrawnPanel[]> {
  const dashboard = readHeraldDashboard(RATE_INTERVAL);
  const rangeNow = (): TimeRange => ({
    start: Math.floor(options.trafficStartedAt / 1000) - STEP_SECONDS,
    end: Math.floor(Date.now() / 1000),
    stepSeconds: STEP_SECONDS,
  });
  const empty = async () => {
    const range = rangeNow();
    const missing: string[] = [];
    for (const panel of dashboard.panels) {
      const data = await panelData(run.prometheus.url, panel, range);
      if (!data.series.some((series) => series.values.some((value) => value !== null))) missing.push(panel.title);
    }
    return missing;
  };
  await eventually(empty, {
    until: (missing) => missing.length === 0,
    what: 'every dashboard panel to have data (the last value lists the empty ones)',
    timeoutMs: options.settleTimeoutMs ?? 30_000,
    intervalMs: 1_000,
  });
  return renderDashboard({
    dashboard,
    prometheusUrl: run.prometheus.url,
    range: rangeNow(),
    out: options.out,
    subtitle: options.subtitle,
  });
}
