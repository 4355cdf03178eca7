/**
 * Prometheus for tests: its command-line tools (promtool, amtool) and a real `prometheus` server from Debian's
 * packages, installed by scripts/install-prometheus.mjs when missing. startPrometheus() runs one on a free
 * 127.0.0.1 port with a temp data directory and a generated configuration; stop() kills it and deletes both.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from '../../scripts/free-port';
import { eventually } from './eventually';

const ROOT = join(__dirname, '..', '..');

export type PrometheusTool = 'promtool' | 'prometheus' | 'amtool';

function locate(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/bin'];
  return dirs
    .map((dir) => join(dir, name))
    .find((path) => {
      try {
        accessSync(path, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
}

/** The tool's path, installing the Debian packages first when it is missing (as `npm test` does up front). */
export function prometheusTool(name: PrometheusTool): string {
  const found = locate(name);
  if (found) return found;
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'install-prometheus.mjs')], { stdio: 'inherit' });
  const installed = locate(name);
  if (!installed) throw new Error(`${name} is still missing after scripts/install-prometheus.mjs`);
  return installed;
}

export interface ToolRun {
  status: number | null;
  /** stdout and stderr together, for assertion messages. */
  output: string;
}

/** Runs a tool to completion (bounded: 60 s) and answers its exit status and output. */
export function runTool(name: PrometheusTool, args: string[], cwd = ROOT): ToolRun {
  const result = spawnSync(prometheusTool(name), args, { cwd, encoding: 'utf8', timeout: 60_000 });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

export interface PrometheusAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  value: string;
}

export interface RunningPrometheus {
  url: string;
  /** GET /api/v1/query: the result of an instant query, or the error Prometheus gave. */
  query(expr: string): Promise<{ status: string; data?: { resultType: string; result: unknown[] }; error?: string }>;
  /** GET /api/v1/alerts: pending and firing alerts. */
  alerts(): Promise<PrometheusAlert[]>;
  /** GET /api/v1/rules?type=alert: each alerting rule's state (inactive, pending, firing). */
  alertRules(): Promise<{ name: string; state: string; health: string; lastError?: string }[]>;
  /** GET /api/v1/targets: each active target's scrape URL and health. */
  targets(): Promise<{ scrapeUrl: string; health: string; lastError: string }[]>;
  /** What Prometheus printed, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  /** scrape_configs entries: job name and host:port targets. */
  jobs: { name: string; targets: string[] }[];
  /** Rule files' contents (YAML, or JSON, which is YAML). */
  rules: string[];
  /** scrape_interval and evaluation_interval. @defaultValue '1s' */
  interval?: string;
}

/** Starts `prometheus` on a free port and waits until it is ready; the caller must stop() it. */
export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-prometheus-'));
  const interval = options.interval ?? '1s';
  const ruleFiles = options.rules.map((text, index) => {
    const path = join(dir, `rules-${index}.yml`);
    writeFileSync(path, text);
    return path;
  });
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
    rule_files: ruleFiles,
    scrape_configs: options.jobs.map((job) => ({ job_name: job.name, static_configs: [{ targets: job.targets }] })),
  };
  writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify(config, null, 2));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  const child: ChildProcess = spawn(
    prometheusTool('prometheus'),
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const collect = (chunk: Buffer) => {
    output = `${output}${chunk.toString('utf8')}`.slice(-20_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const getJson = async (path: string) => {
    const response = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(5_000) });
    return (await response.json()) as { status: string; data?: unknown; error?: string };
  };
  try {
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}`);
        return (await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2_000) })).ok;
      },
      { what: () => `Prometheus on ${url} to be ready\n${output}`, timeoutMs: 30_000, intervalMs: 200 },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url,
    query: async (expr) =>
      (await getJson(`/api/v1/query?query=${encodeURIComponent(expr)}`)) as Awaited<
        ReturnType<RunningPrometheus['query']>
      >,
    alertRules: async () =>
      (
        (await getJson('/api/v1/rules?type=alert')).data as {
          groups: { rules: { name: string; state: string; health: string; lastError?: string }[] }[];
        }
      ).groups.flatMap((group) => group.rules),
    alerts: async () => ((await getJson('/api/v1/alerts')).data as { alerts: PrometheusAlert[] }).alerts,
    targets: async () =>
      (
        (await getJson('/api/v1/targets')).data as {
          activeTargets: { scrapeUrl: string; health: string; lastError: string }[];
        }
      ).activeTargets,
    log: () => output,
    stop,
  };
}
