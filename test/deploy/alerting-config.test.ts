/**
 * The alerting that ships with Herald, checked by the tools that will load it: promtool checks the rules and runs
 * their unit tests (deploy/prometheus/tests/*.yml), amtool checks the Alertmanager example and where it routes.
 * And every alert is documented: a severity, a summary, a runbook anchor that exists in the README, and unit tests
 * that make it fire and not fire.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runTool } from '../helpers/prometheus';

const ROOT = join(__dirname, '..', '..');
const RULES = 'deploy/prometheus/herald-rules.yml';
const TESTS_DIR = 'deploy/prometheus/tests';
const ALERTMANAGER = 'deploy/alertmanager/alertmanager.yml';

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleTest {
  alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[];
}

const alerts = (parse(readFileSync(join(ROOT, RULES), 'utf8')) as { groups: { rules: AlertRule[] }[] }).groups.flatMap(
  (group) => group.rules.filter((rule) => rule.alert),
);
const testFiles = readdirSync(join(ROOT, TESTS_DIR)).filter((name) => name.endsWith('.yml'));

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

test('promtool check rules accepts the rules file', () => {
  const run = runTool('promtool', ['check', 'rules', RULES]);
  expect(run.output).toContain(`SUCCESS: ${alerts.length} rules found`);
  expect(run.status).toBe(0);
});

test('promtool test rules passes every unit test file', () => {
  expect(testFiles.length).toBeGreaterThan(0);
  const run = runTool('promtool', ['test', 'rules', ...testFiles.map((name) => join(TESTS_DIR, name))]);
  expect(run.output).not.toContain('FAILED');
  expect(run.status).toBe(0);
  expect(run.output.match(/SUCCESS/g)).toHaveLength(testFiles.length);
});

test('every alert has a severity, a summary and a runbook anchor that the README has', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const anchors = new Set([...readme.matchAll(/^#{1,6} (.+)$/gm)].map((match) => anchor(match[1] ?? '')));
  expect(alerts.map((rule) => rule.alert)).toEqual([
    'HeraldDeadLetterQueueLarge',
    'HeraldDeadLetterQueueGrowing',
    'HeraldDestinationFailing',
    'HeraldNoWorkerPolling',
    'HeraldAcceptErrors',
    'HeraldDeadLetterWaitingOverADay',
  ]);
  for (const rule of alerts) {
    expect({ alert: rule.alert, severity: rule.labels?.severity }).toEqual({
      alert: rule.alert,
      severity: expect.stringMatching(/^(critical|warning)$/),
    });
    expect(rule.annotations?.summary).toEqual(expect.any(String));
    const runbook = rule.annotations?.runbook ?? '';
    expect(runbook).toMatch(/^README\.md#/);
    expect({ alert: rule.alert, anchorInReadme: anchors.has(runbook.replace(/^README\.md#/, '')) }).toEqual({
      alert: rule.alert,
      anchorInReadme: true,
    });
  }
});

test('every alert has a unit test that makes it fire and one that checks it does not', () => {
  const cases = testFiles.flatMap((name) =>
    (parse(readFileSync(join(ROOT, TESTS_DIR, name), 'utf8')) as { tests: RuleTest[] }).tests.flatMap(
      (t) => t.alert_rule_test ?? [],
    ),
  );
  for (const rule of alerts) {
    const own = cases.filter((c) => c.alertname === rule.alert);
    expect({ alert: rule.alert, fires: own.some((c) => c.exp_alerts.length > 0) }).toEqual({
      alert: rule.alert,
      fires: true,
    });
    expect({ alert: rule.alert, staysQuiet: own.some((c) => c.exp_alerts.length === 0) }).toEqual({
      alert: rule.alert,
      staysQuiet: true,
    });
  }
});

test('amtool accepts the Alertmanager example', () => {
  const run = runTool('amtool', ['check-config', ALERTMANAGER]);
  expect(run.output).toContain('SUCCESS');
  expect(run.status).toBe(0);
});

test('the Alertmanager example pages critical alerts on PagerDuty and sends the rest to Slack and email', () => {
  const route = (...labels: string[]) => {
    const run = runTool('amtool', ['config', 'routes', 'test', `--config.file=${ALERTMANAGER}`, ...labels]);
    expect(run.status).toBe(0);
    return run.output.split('\n').find((line) => line && !line.startsWith('Warning')) ?? '';
  };
  const config = parse(readFileSync(join(ROOT, ALERTMANAGER), 'utf8')) as {
    receivers: { name: string; pagerduty_configs?: unknown[]; slack_configs?: unknown[]; email_configs?: unknown[] }[];
  };
  const receiver = (name: string) => config.receivers.find((r) => r.name === name);

  for (const rule of alerts) {
    const name = route(`alertname=${rule.alert}`, `severity=${rule.labels?.severity ?? ''}`, 'service=herald');
    const target = receiver(name);
    if (rule.labels?.severity === 'critical') {
      expect({ alert: rule.alert, pagerduty: target?.pagerduty_configs?.length ?? 0 }).toEqual({
        alert: rule.alert,
        pagerduty: 1,
      });
    } else {
      expect({
        alert: rule.alert,
        slack: target?.slack_configs?.length ?? 0,
        email: target?.email_configs?.length ?? 0,
        pagerduty: target?.pagerduty_configs?.length ?? 0,
      }).toEqual({ alert: rule.alert, slack: 1, email: 1, pagerduty: 0 });
    }
  }
});

test('the Alertmanager example carries placeholders, not secrets', () => {
  const text = readFileSync(join(ROOT, ALERTMANAGER), 'utf8');
  const config = parse(text) as {
    global: Record<string, string>;
    receivers: { pagerduty_configs?: { routing_key: string }[]; slack_configs?: { api_url: string }[] }[];
  };
  const secrets = [
    config.global.smtp_auth_password,
    ...config.receivers.flatMap((r) => (r.pagerduty_configs ?? []).map((p) => p.routing_key)),
    ...config.receivers.flatMap((r) => (r.slack_configs ?? []).map((s) => s.api_url)),
  ];
  expect(secrets).toHaveLength(3);
  for (const secret of secrets) expect(secret).toContain('REPLACE_ME');
});
