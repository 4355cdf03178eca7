/**
 * The parts of a Grafana dashboard JSON (deploy/grafana/herald-dashboard.json) that the picture draws: each
 * panel's title, type, gridPos, unit, stacking, fill and targets (expr, legendFormat). Nothing else of Grafana's model is read.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const HERALD_DASHBOARD = join(__dirname, '..', '..', 'deploy', 'grafana', 'herald-dashboard.json');

/** The panel types the picture can draw; any other type fails loudly rather than being left out. */
export type DrawnPanelType = 'timeseries' | 'stat';

export interface PanelTarget {
  refId: string;
  expr: string;
  legendFormat?: string;
}

export interface PanelPlan {
  id: number;
  type: DrawnPanelType;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  /** Grafana's unit id (`reqps`, `s`, `percentunit`, `short`…), or none. */
  unit?: string;
  /** Series drawn on top of one another (Grafana's stacking mode `normal`). */
  stacked: boolean;
  /** Area under a line, 0–100 (Grafana's default is 0: lines only). */
  fillOpacity: number;
  targets: PanelTarget[];
}

export interface DashboardPlan {
  title: string;
  panels: PanelPlan[];
}

interface DashboardJson {
  title: string;
  panels: {
    id: number;
    type: string;
    title: string;
    gridPos: PanelPlan['gridPos'];
    fieldConfig?: {
      defaults?: { unit?: string; custom?: { stacking?: { mode?: string }; fillOpacity?: number } };
    };
    targets?: PanelTarget[];
  }[];
}

/**
 * The panels to draw, in the dashboard's order, with `$__rate_interval` replaced by `rateInterval` as Grafana
 * does before it sends a query.
 */
export function planDashboard(json: string, rateInterval: string): DashboardPlan {
  const dashboard = JSON.parse(json) as DashboardJson;
  return {
    title: dashboard.title,
    panels: dashboard.panels.map((panel) => {
      if (panel.type !== 'timeseries' && panel.type !== 'stat') {
        throw new Error(`panel ${panel.id} "${panel.title}" is a ${panel.type}: the picture draws timeseries and stat`);
      }
      return {
        id: panel.id,
        type: panel.type,
        title: panel.title,
        gridPos: panel.gridPos,
        unit: panel.fieldConfig?.defaults?.unit,
        stacked: panel.fieldConfig?.defaults?.custom?.stacking?.mode === 'normal',
        fillOpacity: panel.fieldConfig?.defaults?.custom?.fillOpacity ?? 0,
        targets: (panel.targets ?? []).map((target) => ({
          refId: target.refId,
          expr: target.expr.replaceAll('$__rate_interval', rateInterval),
          legendFormat: target.legendFormat,
        })),
      };
    }),
  };
}

/** Herald's own dashboard, planned. */
export function readHeraldDashboard(rateInterval: string, path = HERALD_DASHBOARD): DashboardPlan {
  return planDashboard(readFileSync(path, 'utf8'), rateInterval);
}
