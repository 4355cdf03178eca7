/**
 * Runs the real HTTP API on 127.0.0.1 (a free port) next to a test Herald worker, sharing its task
 * queue, Temporal client and dead-letter store, and sends real HTTP requests to it.
 */
import type { Logger } from 'pino';
import { request as undiciRequest } from 'undici';
import { buildApp, type HeraldApp } from '../../src/api/app';
import { loadConfig, type HeraldConfig } from '../../src/config/config';
import { createLogger } from '../../src/observability/logger';
import { TEST_ENV, type TestHerald } from './herald';

export const API_KEY = 'test-key-0123456789abcdef';
export const OTHER_API_KEY = 'other-key-0123456789abcdef';
/** Standard Webhooks secret repliers sign with in tests. */
export const REPLY_SECRET = `whsec_${Buffer.from('herald-test-reply-secret-32bytes!').toString('base64')}`;

export interface TestResponse<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
  text: string;
}

export interface TestApi {
  app: HeraldApp;
  url: string;
  config: HeraldConfig;
  /** A request with the test API key unless `headers.authorization` says otherwise (null = none). */
  call<T = Record<string, unknown>>(
    method: string,
    path: string,
    options?: { json?: unknown; raw?: string; headers?: Record<string, string | null> },
  ): Promise<TestResponse<T>>;
  close(): Promise<void>;
}

/** `options.logger` replaces the silent logger, for tests that read what the API logs. */
export async function startTestApi(
  herald: TestHerald,
  env: Record<string, string> = {},
  options: { logger?: Logger } = {},
): Promise<TestApi> {
  const config = loadConfig({
    ...TEST_ENV,
    TEMPORAL_ADDRESS: process.env.HERALD_TEST_TEMPORAL_ADDRESS!,
    TEMPORAL_NAMESPACE: herald.config.temporal.namespace,
    HERALD_TASK_QUEUE: herald.taskQueue,
    HERALD_DATA_DIR: herald.config.dataDir,
    HERALD_API_KEYS: `tests:${API_KEY},other:${OTHER_API_KEY}`,
    HERALD_REPLY_SECRETS: JSON.stringify({ '*': REPLY_SECRET }),
    HERALD_API_PORT: '0',
    ...env,
  });
  const app = await buildApp({
    config,
    client: herald.client,
    store: herald.store,
    events: herald.events,
    logger: options.logger ?? createLogger('silent'),
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    app,
    url,
    config,
    async call(method, path, options = {}) {
      const headers: Record<string, string> = { authorization: `Bearer ${API_KEY}` };
      let body: string | undefined;
      if (options.json !== undefined) {
        body = JSON.stringify(options.json);
        headers['content-type'] = 'application/json';
      }
      if (options.raw !== undefined) body = options.raw;
      for (const [name, value] of Object.entries(options.headers ?? {})) {
        if (value === null) delete headers[name];
        else headers[name] = value;
      }
      const response = await undiciRequest(`${url}${path}`, { method: method as 'GET', headers, body });
      const text = await response.body.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON (e.g. the docs page)
      }
      return { status: response.statusCode, headers: response.headers, body: parsed as never, text };
    },
    close: () => app.close(),
  };
}
