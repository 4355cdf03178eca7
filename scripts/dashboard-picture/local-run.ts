/**
 * A local Herald for the dashboard picture, started with the test helpers the real-Prometheus test uses
 * (test/deploy/prometheus-alerts.test.ts): one worker and one API process on a PostgreSQL database of their own,
 * four downstream servers and a closed port on 127.0.0.1 (so five `destination` labels), and a real Prometheus scraping the API's
 * /metrics and the worker's metrics port every second. Needs Temporal and PostgreSQL already running, named by
 * HERALD_TEST_TEMPORAL_ADDRESS and HERALD_TEST_POSTGRES_URL (the jest global setup sets both; main.ts starts them).
 */
import { closedPort, startDownstream, type Downstream } from '../../test/helpers/downstream';
import { eventually } from '../../test/helpers/eventually';
import { startHeraldFleet, type FleetApi, type HeraldFleet } from '../../test/helpers/herald-fleet';
import { createTestDatabase, freePort } from '../../test/helpers/postgres';
import { startPrometheus, type RunningPrometheus } from '../../test/helpers/prometheus';

/** How each downstream answers, chosen so every dashboard panel has something to show. */
export interface Downstreams {
  /** 200 within 5–40 ms. */
  fast: Downstream;
  /** 200 within 80–600 ms; one request in 25 waits past the 2 s attempt timeout. */
  slow: Downstream;
  /** 503 for 40 % of requests (retried; three in a row dead-letter the message), 400 for 5 % (permanent), else 200. */
  flaky: Downstream;
  /** 503 to every request while `refusing` (dead letters after three attempts); 200 once it heals. */
  refusing: Downstream & { heal(): void };
  /** A 127.0.0.1 URL with nothing listening: attempts fail with `network`. */
  closedUrl: string;
}

export interface LocalRun {
  fleet: HeraldFleet;
  api: FleetApi;
  prometheus: RunningPrometheus;
  downstreams: Downstreams;
  /** Stops everything it started, in reverse order; safe to call twice and after a failed start. */
  close(): Promise<void>;
}

const between = (low: number, high: number) => low + Math.floor(Math.random() * (high - low));

async function startDownstreams(started: Downstream[]): Promise<Downstreams> {
  const start = async () => {
    const downstream = await startDownstream();
    started.push(downstream);
    return downstream;
  };
  const fast = await start();
  fast.handle('/hook', () => ({ status: 200, delayMs: between(5, 40) }));
  fast.handle('/callback', () => ({ status: 200 }));
  const slow = await start();
  slow.handle('/hook', () =>
    Math.random() < 0.04 ? { status: 200, delayMs: 2_500 } : { status: 200, delayMs: between(80, 600) },
  );
  const flaky = await start();
  flaky.handle('/hook', () => {
    const roll = Math.random();
    if (roll < 0.05) return { status: 400, body: 'bad request' };
    if (roll < 0.45) return { status: 503, delayMs: between(5, 30) };
    return { status: 200, delayMs: between(20, 120) };
  });
  const refusingServer = await start();
  let refusing = true;
  refusingServer.handle('/hook', () => (refusing ? { status: 503, body: 'unavailable' } : { status: 200 }));
  return {
    fast,
    slow,
    flaky,
    refusing: Object.assign(refusingServer, { heal: () => (refusing = false) }),
    closedUrl: `http://127.0.0.1:${await closedPort()}/hook`,
  };
}

/** Starts the downstreams, Herald and Prometheus, and waits until Prometheus scrapes both Herald processes. */
export async function startLocalRun(): Promise<LocalRun> {
  const started: Downstream[] = [];
  let fleet: HeraldFleet | undefined;
  let prometheus: RunningPrometheus | undefined;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await prometheus?.stop();
    await fleet?.close();
    await Promise.all(started.map((downstream) => downstream.close()));
  };
  try {
    const downstreams = await startDownstreams(started);
    const databaseUrl = await createTestDatabase('herald_dashboard');
    const workerMetricsPort = await freePort();
    fleet = await startHeraldFleet({
      workers: 1,
      apis: 1,
      env: { HERALD_DATABASE_URL: databaseUrl },
      envFor: (name): Record<string, string> =>
        name === 'worker-1' ? { HERALD_METRICS_PORT: String(workerMetricsPort) } : {},
    });
    const api = fleet.apis[0] as FleetApi;
    prometheus = await startPrometheus({
      jobs: [
        { name: 'herald-api', targets: [new URL(api.url).host] },
        { name: 'herald-worker', targets: [`127.0.0.1:${workerMetricsPort}`] },
      ],
      rules: [],
      interval: '1s',
    });
    const running = prometheus;
    await eventually(() => running.targets(), {
      until: (targets) => targets.length === 2 && targets.every((target) => target.health === 'up'),
      what: () => `Prometheus to scrape the API and the worker\n${running.log()}`,
      timeoutMs: 30_000,
      intervalMs: 500,
    });
    return { fleet, api, prometheus, downstreams, close };
  } catch (error) {
    await close().catch(() => undefined); // the start-up error is the one to report
    throw error;
  }
}
