/**
 * The Prometheus scrape configuration that ships with Herald (deploy/prometheus/prometheus.yml): promtool accepts
 * it as shipped and with its documented token block turned on, its jobs are the ones the rules expect, and it
 * scrapes the stack docker-compose.yml runs: the ports it names are the ones the services listen on, on an
 * address another container reaches, with the token passed to both.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runTool } from '../helpers/prometheus';

const ROOT = join(__dirname, '..', '..');
const CONFIG = 'deploy/prometheus/prometheus.yml';
const RULES = 'deploy/prometheus/herald-rules.yml';

interface ScrapeJob {
  job_name: string;
  authorization?: { credentials_file?: string };
  dns_sd_configs?: { names: string[]; type: string; port: number }[];
}
interface Service {
  environment?: Record<string, string>;
  expose?: string[];
}

const configText = readFileSync(join(ROOT, CONFIG), 'utf8');
const config = parse(configText) as { rule_files: string[]; scrape_configs: ScrapeJob[] };
const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Service> };
const job = (name: string) => config.scrape_configs.find((each) => each.job_name === name);

let dir: string | undefined;
afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

test('promtool check config accepts it, and finds the rules file beside it', () => {
  const run = runTool('promtool', ['check', 'config', CONFIG]);
  expect(run.output).toContain(`SUCCESS: ${CONFIG} is valid prometheus config file syntax`);
  expect(run.output).toContain('SUCCESS: 1 rule files found');
  expect(run.status).toBe(0);
  expect(config.rule_files).toEqual(['herald-rules.yml']);
});

test('with its token block uncommented, in both jobs, promtool accepts it and reads the token file', () => {
  const block = /^( {4})# authorization:\n\1# {3}credentials_file: herald-metrics-token$/gm;
  expect(configText.match(block)).toHaveLength(2);
  dir = mkdtempSync(join(tmpdir(), 'herald-prometheus-config-'));
  const tokened = configText.replace(block, '$1authorization:\n$1  credentials_file: herald-metrics-token');
  writeFileSync(join(dir, 'prometheus.yml'), tokened);
  copyFileSync(join(ROOT, RULES), join(dir, 'herald-rules.yml'));
  // promtool checks that the credentials file exists: without it, the block is refused.
  const missing = runTool('promtool', ['check', 'config', join(dir, 'prometheus.yml')]);
  expect(missing.output).toContain('herald-metrics-token');
  expect(missing.status).not.toBe(0);
  writeFileSync(join(dir, 'herald-metrics-token'), 'scrape-token-1\n', { mode: 0o600 });
  const run = runTool('promtool', ['check', 'config', join(dir, 'prometheus.yml')]);
  expect(run.output).toContain('is valid prometheus config file syntax');
  expect(run.status).toBe(0);
  const parsed = parse(tokened) as { scrape_configs: ScrapeJob[] };
  expect(parsed.scrape_configs.map((each) => each.authorization)).toEqual([
    { credentials_file: 'herald-metrics-token' },
    { credentials_file: 'herald-metrics-token' },
  ]);
});

test('its jobs are the ones the rules name, and scrape the compose services where they listen', () => {
  // HeraldNoWorkerPolling finds the workers by job name.
  expect(readFileSync(join(ROOT, RULES), 'utf8')).toContain('job="herald-worker"');
  expect(config.scrape_configs.map((each) => each.job_name)).toEqual(['herald-api', 'herald-worker']);

  const worker = compose.services['herald-worker']!.environment!;
  const api = compose.services['herald-api']!.environment!;
  expect(job('herald-worker')!.dns_sd_configs).toEqual([
    { names: ['herald-worker'], type: 'A', port: Number(worker.HERALD_METRICS_PORT) },
  ]);
  expect(job('herald-api')!.dns_sd_configs).toEqual([
    { names: ['herald-api'], type: 'A', port: Number(api.HERALD_API_PORT) },
  ]);
  // Reachable from another container: all interfaces, and the port exposed on the compose network.
  expect(worker.HERALD_METRICS_HOST).toBe('0.0.0.0');
  expect(compose.services['herald-worker']!.expose).toContain(worker.HERALD_METRICS_PORT);
  expect(api.HERALD_API_HOST).toBe('0.0.0.0');
  // One token for both /metrics, from the environment (.env), never written in the file.
  expect(worker.HERALD_METRICS_TOKEN).toBe('${HERALD_METRICS_TOKEN:-}');
  expect(api.HERALD_METRICS_TOKEN).toBe('${HERALD_METRICS_TOKEN:-}');
});

test('the image has the worker listen for metrics on every interface of its container', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  expect(runtime).toMatch(/^ENV [^\n]*(?:\\\n[^\n]*)*HERALD_METRICS_HOST=0\.0\.0\.0/m);
  expect(runtime).toMatch(/^EXPOSE 9464$/m);
});
