/**
 * HTTP to the Herald API (undici): the bearer key, JSON in and out, a deadline per request, and
 * every failure turned into a HeraldApiError (the API answered) or HeraldUnreachableError (it did not).
 */
import { request } from 'undici';
import { HeraldApiError, HeraldUnreachableError, type Problem } from './errors';

export interface HttpSettings {
  /** The API's base URL, e.g. `http://127.0.0.1:3000`. */
  baseUrl: string;
  apiKey: string;
  /** Longest wait for one request, connection included. */
  requestTimeoutMs: number;
}

export interface ApiResponse<T> {
  status: number;
  body: T;
  /** The Retry-After header in milliseconds, when present. */
  retryAfterMs: number | undefined;
}

export interface CallOptions {
  json?: unknown;
  query?: Record<string, string | number | undefined>;
  headers?: Record<string, string>;
  /** Aborting rejects with HeraldUnreachableError (code `aborted`). */
  signal?: AbortSignal;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

const USER_AGENT = 'herald-client/0.1';

/** @internal The client's one way to the API. */
export class HeraldHttp {
  readonly baseUrl: string;

  constructor(private readonly settings: HttpSettings) {
    const url = URL.canParse(settings.baseUrl) ? new URL(settings.baseUrl) : undefined;
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new TypeError(`baseUrl must be an http(s) URL (got ${settings.baseUrl})`);
    }
    this.baseUrl = settings.baseUrl.replace(/\/+$/, '');
  }

  /** One API call; resolves for 2xx, rejects with HeraldApiError or HeraldUnreachableError otherwise. */
  async call<T>(method: Method, path: string, options: CallOptions = {}): Promise<ApiResponse<T>> {
    const url = new URL(`${this.baseUrl}${path}`);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.settings.apiKey}`,
      accept: 'application/json, application/problem+json',
      'user-agent': USER_AGENT,
      ...options.headers,
    };
    let body: string | undefined;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['content-type'] = 'application/json';
    }
    const timeout = AbortSignal.timeout(this.settings.requestTimeoutMs);
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
    let statusCode: number;
    let responseHeaders: Record<string, string | string[] | undefined>;
    let text: string;
    try {
      const response = await request(url, { method, headers, body, signal });
      statusCode = response.statusCode;
      responseHeaders = response.headers;
      text = await response.body.text();
    } catch (error) {
      throw unreachable(error, url, timeout.aborted, this.settings.requestTimeoutMs);
    }
    const retryAfterMs = parseRetryAfter(responseHeaders['retry-after']);
    const parsed = parseJson(text);
    if (statusCode >= 200 && statusCode < 300) {
      return { status: statusCode, body: parsed as T, retryAfterMs };
    }
    throw new HeraldApiError(asProblem(parsed, statusCode, text), retryAfterMs);
  }
}

function unreachable(error: unknown, url: URL, timedOut: boolean, timeoutMs: number): HeraldUnreachableError {
  const where = `${url.origin}${url.pathname}`;
  if (timedOut) return new HeraldUnreachableError(`no answer from ${where} within ${timeoutMs} ms`, 'timeout');
  const err = error as { code?: unknown; name?: string; message?: string };
  const code = typeof err.code === 'string' ? err.code : err.name === 'AbortError' ? 'aborted' : undefined;
  return new HeraldUnreachableError(`cannot reach ${where}: ${err.message ?? String(error)}`, code, { cause: error });
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The body when it is a problem, otherwise a problem made from the status (a proxy's HTML error page, say). */
function asProblem(body: unknown, status: number, text: string): Problem {
  if (body && typeof body === 'object' && typeof (body as Problem).type === 'string') {
    const problem = body as Problem;
    return { ...problem, status: typeof problem.status === 'number' ? problem.status : status };
  }
  return {
    type: 'about:blank',
    title: `HTTP ${status}`,
    status,
    ...(text ? { detail: text.slice(0, 500) } : {}),
  };
}

/** Retry-After as delay-seconds or an HTTP-date (RFC 9110 §10.2.3), in milliseconds. */
export function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || raw.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(raw)) return Number(raw) * 1000;
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
