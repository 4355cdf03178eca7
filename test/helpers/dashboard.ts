/** Herald's Grafana dashboard (deploy/grafana/herald-dashboard.json) as the tests read it. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const DASHBOARD_PATH = join(__dirname, '..', '..', 'deploy', 'grafana', 'herald-dashboard.json');

export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type?: string; uid?: string };
  targets?: { refId: string; expr: string; legendFormat?: string; datasource?: { type?: string; uid?: string } }[];
}

export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: DashboardPanel[];
  templating: { list: { name: string; type: string; query?: string }[] };
}

export function readDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8')) as Dashboard;
}

/**
 * Every panel query as Prometheus would run it: Grafana replaces `$__rate_interval` (at least four scrape
 * intervals) before sending, so the tests put in a window of their own.
 */
export function dashboardQueries(rateInterval: string): { panel: string; refId: string; expr: string }[] {
  return readDashboard().panels.flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({
      panel: panel.title,
      refId: target.refId,
      expr: target.expr.replaceAll('$__rate_interval', rateInterval),
    })),
  );
}
