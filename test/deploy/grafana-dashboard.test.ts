/**
 * deploy/grafana/herald-dashboard.json is a well-formed Grafana dashboard: there is no Grafana here to import it,
 * so this checks its shape (what Grafana's import needs) and that every panel query parses as PromQL (promtool
 * checks them as recording rules). test/deploy/prometheus-alerts.test.ts runs each one against a real Prometheus.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dashboardQueries, readDashboard } from '../helpers/dashboard';
import { runTool } from '../helpers/prometheus';

const dashboard = readDashboard();

test('it has what a Grafana import needs: a uid, a title, a schema version and a Prometheus data source variable', () => {
  expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
  expect(dashboard.title).toBe('Herald');
  expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
  expect(dashboard.templating.list).toContainEqual(
    expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
  );
});

test('every panel has a unique id, a place, the data source variable and Prometheus targets', () => {
  expect(dashboard.panels.length).toBeGreaterThanOrEqual(8);
  expect(new Set(dashboard.panels.map((panel) => panel.id)).size).toBe(dashboard.panels.length);
  for (const panel of dashboard.panels) {
    expect({ title: panel.title, type: panel.type }).toEqual({
      title: panel.title,
      type: expect.stringMatching(/^(timeseries|stat)$/),
    });
    expect(panel.gridPos.w).toBeGreaterThan(0);
    expect(panel.gridPos.x + panel.gridPos.w).toBeLessThanOrEqual(24);
    expect(panel.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
    expect(panel.targets?.length).toBeGreaterThan(0);
    const refIds = (panel.targets ?? []).map((target) => target.refId);
    expect(new Set(refIds).size).toBe(refIds.length);
    for (const target of panel.targets ?? []) {
      expect(target.datasource).toEqual(panel.datasource);
      expect(target.expr.trim()).not.toBe('');
    }
  }
});

test('it shows what the issue asks for', () => {
  const exprs = dashboardQueries('1m').map((query) => query.expr);
  const uses = (pattern: RegExp) => exprs.some((expr) => pattern.test(expr));
  expect(uses(/rate\(herald_messages_accepted_total\{outcome="accepted"\}/)).toBe(true);
  expect(uses(/rate\(herald_messages_terminal_total\{state=~"delivered\|replied"\}/)).toBe(true);
  expect(uses(/sum by \(outcome\) \(rate\(herald_delivery_attempts_total\[/)).toBe(true);
  expect(uses(/herald_dead_letters_waiting/)).toBe(true);
  expect(uses(/histogram_quantile\(0\.95, sum by \(destination, le\) \(rate\(herald_delivery_attempt_duration/)).toBe(
    true,
  );
  expect(uses(/temporal_worker_task_slots_available/)).toBe(true);
});

test('every panel query parses as PromQL (promtool)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-dashboard-'));
  try {
    const queries = dashboardQueries('5m');
    const rules = {
      groups: [
        {
          name: 'dashboard',
          rules: queries.map((query, index) => ({ record: `herald_dashboard:query_${index}`, expr: query.expr })),
        },
      ],
    };
    const file = join(dir, 'dashboard-queries.yml');
    writeFileSync(file, JSON.stringify(rules));
    const run = runTool('promtool', ['check', 'rules', file]);
    expect(run.output).toContain(`SUCCESS: ${queries.length} rules found`);
    expect(run.status).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
