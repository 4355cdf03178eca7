/** The dashboard picture's pure parts: which panels it draws from the JSON, and how series are named. */
import { planDashboard, readHeraldDashboard } from '../../scripts/dashboard-picture/dashboard';
import { legendName, rangeSteps } from '../../scripts/dashboard-picture/prometheus-api';
import { readDashboard } from '../helpers/dashboard';

test("Herald's dashboard is planned panel for panel, with $__rate_interval replaced", () => {
  const plan = readHeraldDashboard('10s');
  const json = readDashboard();
  expect(plan.panels.map((panel) => [panel.id, panel.title, panel.gridPos])).toEqual(
    json.panels.map((panel) => [panel.id, panel.title, panel.gridPos]),
  );
  const exprs = plan.panels.flatMap((panel) => panel.targets.map((target) => target.expr));
  expect(exprs.length).toBeGreaterThan(0);
  expect(exprs.filter((expr) => expr.includes('$__'))).toEqual([]);
  expect(exprs.some((expr) => expr.includes('[10s]'))).toBe(true);
});

test('a panel type the picture cannot draw is refused, not left out', () => {
  const json = JSON.stringify({
    title: 't',
    panels: [{ id: 7, type: 'heatmap', title: 'Heat', gridPos: { h: 8, w: 12, x: 0, y: 0 }, targets: [] }],
  });
  expect(() => planDashboard(json, '1m')).toThrow('panel 7 "Heat" is a heatmap');
});

test('legendFormat names a series by its labels, as Grafana does', () => {
  expect(legendName('p95 {{destination}}', { destination: '127.0.0.1:80' })).toBe('p95 127.0.0.1:80');
  expect(legendName('{{ outcome }} {{status_class}}', { outcome: 'accepted', status_class: '2xx' })).toBe(
    'accepted 2xx',
  );
  expect(legendName('{{missing}}x', {})).toBe('x');
  expect(legendName(undefined, { job: 'herald' })).toBe('{job="herald"}');
  expect(legendName(undefined, {})).toBe('value');
});

test('the range steps are the timestamps Prometheus answers a range query on', () => {
  expect(rangeSteps({ start: 100, end: 106, stepSeconds: 2 })).toEqual([100, 102, 104, 106]);
  expect(rangeSteps({ start: 100, end: 105, stepSeconds: 2 })).toEqual([100, 102, 104]);
});
