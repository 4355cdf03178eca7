/**
 * The real HTTP API on a fixed port that a test can stop and start again, so a client configured with
 * its URL sees it go away and come back (test/helpers/api.ts always listens on a fresh port).
 */
import { buildApp, type HeraldApp } from '../../src/api/app';
import { loadConfig } from '../../src/config/config';
import { createLogger } from '../../src/observability/logger';
import { API_KEY, REPLY_SECRET } from '../helpers/api';
import { closedPort } from '../helpers/downstream';
import { TEST_ENV, type TestHerald } from '../helpers/herald';

export interface RestartableApi {
  url: string;
  port: number;
  readonly running: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function restartableApi(herald: TestHerald): Promise<RestartableApi> {
  const port = await closedPort();
  const config = loadConfig({
    ...TEST_ENV,
    TEMPORAL_ADDRESS: process.env.HERALD_TEST_TEMPORAL_ADDRESS!,
    TEMPORAL_NAMESPACE: herald.config.temporal.namespace,
    HERALD_TASK_QUEUE: herald.taskQueue,
    HERALD_DATA_DIR: herald.config.dataDir,
    HERALD_API_KEYS: `tests:${API_KEY}`,
    HERALD_REPLY_SECRETS: JSON.stringify({ '*': REPLY_SECRET }),
    HERALD_API_PORT: String(port),
  });
  let app: HeraldApp | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get running() {
      return app !== undefined;
    },
    async start() {
      if (app) return;
      const next = await buildApp({
        config,
        client: herald.client,
        store: herald.store,
        events: herald.events,
        logger: createLogger('silent'),
      });
      await next.listen({ host: '127.0.0.1', port });
      app = next;
    },
    async stop() {
      const current = app;
      app = undefined;
      await current?.close();
    },
  };
}
