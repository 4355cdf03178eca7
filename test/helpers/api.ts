/** Real HTTP requests to a running API, with the test API keys and reply secret. */
import { Webhook } from 'standardwebhooks';
import { request as undiciRequest } from 'undici';
import type { HeraldApp } from '../../src/api/app';
import type { HeraldConfig } from '../../src/config/config';
import type { ListeningApi } from '../../src/runtime/resources';

export const API_KEY = 'test-key-0123456789abcdef';
export const OTHER_API_KEY = 'other-key-0123456789abcdef';
/** Standard Webhooks secret repliers sign with in tests. */
export const REPLY_SECRET = `whsec_${Buffer.from('herald-test-reply-secret-32bytes!').toString('base64')}`;

/** A reply body signed as a downstream signs it (Standard Webhooks) for `webhookId`: the raw body and its headers. */
export function signedReply(webhookId: string, payload: unknown, secret = REPLY_SECRET) {
  const raw = JSON.stringify(payload);
  const timestamp = new Date();
  return {
    raw,
    headers: {
      'content-type': 'application/json',
      'webhook-id': webhookId,
      'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign(webhookId, timestamp, raw),
    },
  };
}

/** The API settings of tests: both keys, the reply secret, a free port on 127.0.0.1. */
export const TEST_API_ENV: Record<string, string> = {
  HERALD_API_KEYS: `tests:${API_KEY},other:${OTHER_API_KEY}`,
  HERALD_REPLY_SECRETS: JSON.stringify({ '*': REPLY_SECRET }),
  HERALD_API_HOST: '127.0.0.1',
  HERALD_API_PORT: '0',
};

export interface TestResponse<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
  text: string;
}

/** What `call` takes besides method and path. */
export interface CallOptions {
  json?: unknown;
  raw?: string;
  headers?: Record<string, string | null>;
}

export interface TestApi {
  app: HeraldApp;
  url: string;
  config: HeraldConfig;
  /** A request with the test API key unless `headers.authorization` says otherwise (null = none). */
  call<T = Record<string, unknown>>(method: string, path: string, options?: CallOptions): Promise<TestResponse<T>>;
  close(): Promise<void>;
}

/** The test view of a listening API. */
export function testApi(api: ListeningApi, config: HeraldConfig, close: () => Promise<void>): TestApi {
  const { app, url } = api;
  return { app, url, config, call: (method, path, options) => callApi(url, method, path, options), close };
}

/**
 * A real request to the API at `url`, with the test API key unless `headers.authorization` says otherwise
 * (null = none); any API, in this process or another.
 */
export async function callApi<T = Record<string, unknown>>(
  url: string,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<TestResponse<T>> {
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
}
