/**
 * A panel's data from Prometheus's HTTP API, as Grafana asks for it: one `/api/v1/query_range` per target over
 * the picture's time range and step, each series named by the target's legendFormat (`{{label}}` replaced by
 * the series' label value).
 */
import type { PanelPlan } from './dashboard';

export interface TimeRange {
  /** Unix seconds. */
  start: number;
  end: number;
  stepSeconds: number;
}

export interface PanelSeries {
  name: string;
  /** One value per step of the range (x[i] = start + i × step); null where Prometheus had no sample or NaN. */
  values: (number | null)[];
}

export interface PanelData {
  panel: PanelPlan;
  series: PanelSeries[];
}

interface MatrixAnswer {
  status: string;
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; values: [number, string][] }[] };
}

/** Grafana's legend: `{{name}}` is the series' label value (empty when it has none); no legend is its labels. */
export function legendName(legendFormat: string | undefined, metric: Record<string, string>): string {
  if (legendFormat === undefined || legendFormat === '' || legendFormat === '__auto') {
    const labels = Object.entries(metric).map(([key, value]) => `${key}="${value}"`);
    return labels.length > 0 ? `{${labels.join(', ')}}` : 'value';
  }
  return legendFormat.replace(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g, (_all, label: string) => metric[label] ?? '');
}

/** The timestamps of the range's steps (Prometheus answers a range query on exactly these). */
export function rangeSteps(range: TimeRange): number[] {
  const steps: number[] = [];
  for (let t = range.start; t <= range.end + 1e-9; t += range.stepSeconds) steps.push(Number(t.toFixed(3)));
  return steps;
}

/** Runs one range query; throws with Prometheus's own error when it refuses the query. */
export async function queryRange(
  prometheusUrl: string,
  expr: string,
  range: TimeRange,
): Promise<NonNullable<MatrixAnswer['data']>['result']> {
  const params = new URLSearchParams({
    query: expr,
    start: String(range.start),
    end: String(range.end),
    step: String(range.stepSeconds),
  });
  const response = await fetch(`${prometheusUrl}/api/v1/query_range?${params}`, {
    signal: AbortSignal.timeout(10_000),
  });
  const answer = (await response.json()) as MatrixAnswer;
  if (answer.status !== 'success' || !answer.data) throw new Error(`Prometheus refused ${expr}: ${answer.error}`);
  return answer.data.result;
}

/** Every target of the panel, each series aligned on the range's steps. */
export async function panelData(prometheusUrl: string, panel: PanelPlan, range: TimeRange): Promise<PanelData> {
  const steps = rangeSteps(range);
  const index = new Map(steps.map((t, i) => [t.toFixed(3), i]));
  const series: PanelSeries[] = [];
  for (const target of panel.targets) {
    for (const result of await queryRange(prometheusUrl, target.expr, range)) {
      const values: (number | null)[] = steps.map(() => null);
      for (const [t, text] of result.values) {
        const i = index.get(Number(t).toFixed(3));
        const value = Number(text);
        if (i !== undefined && Number.isFinite(value)) values[i] = value;
      }
      series.push({ name: legendName(target.legendFormat, result.metric), values });
    }
  }
  return { panel, series };
}
