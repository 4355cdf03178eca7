/**
 * Herald's configuration: one typed table of environment variables, read and validated once at
 * start-up and shared by the worker, the API and the CLI. Every variable is documented here, in the
 * README and in .env.example. Not for workflow code (it reads process.env).
 */
import { join, resolve } from 'node:path';
import { parseAllowlist } from '../destinations/destination-policy';
import { parseKeyring, type Keyring } from '../encryption/keyring';
import type { SecretsByKey } from '../signing/standard-webhooks';
import { API_ROLES, isApiRole, type ApiKeyRoles } from '../contract/api-roles';
import { parseDuration } from '../contract/duration';
import { ORDERING_DEAD_LETTER_MODES, type OrderingDeadLetterMode } from '../contract/message';
import type { DeliverySettings } from '../retry/delivery-plan';
import {
  cachedWorkflowsForBudget,
  DEFAULT_WORKER_MEMORY_BUDGET,
  MAX_CACHED_WORKFLOWS,
  MIN_CACHED_WORKFLOWS,
  minimumMemoryBudgetMiB,
  parseByteSize,
} from './workflow-cache';

/** OpenTelemetry trace export (OTEL_*; used by src/observability/tracing.ts). */
export interface TracingConfig {
  /** The OTLP/HTTP traces URL (`…/v1/traces`); empty = tracing off. */
  tracesUrl: string;
  /** Headers sent with every export (OTEL_EXPORTER_OTLP_HEADERS): often a collector's credentials. */
  headers: Record<string, string>;
  /** OTEL_SERVICE_NAME; absent = `herald-api` or `herald-worker` by role. */
  serviceName: string | undefined;
}

/** OAuth2 client-credentials settings for one destination host. Secrets live here, never in messages. */
export interface TokenProviderConfig {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope?: string;
  audience?: string;
}

/** An API key and the name it is known by in logs (the key itself never is). */
export interface ApiKey {
  name: string;
  key: string;
  /** @defaultValue `unscoped` (an entry without a role: today's rights, see contract/api-roles.ts) */
  roles: ApiKeyRoles;
}

export interface HeraldConfig {
  /** Prometheus exposition (src/observability): the API's `GET /metrics` and each worker's own listener. */
  metrics: {
    /** The worker's metrics port; null = no listener, 0 = any free port. @defaultValue 9464 (HERALD_METRICS_PORT, `off` for none) */
    port: number | null;
    /** @defaultValue '127.0.0.1' (HERALD_METRICS_HOST) */
    host: string;
    /** Bearer token both /metrics ask for; '' = none asked. @defaultValue '' (HERALD_METRICS_TOKEN) */
    token: string;
    /** Distinct destination hosts a label keeps before further ones count as `other`. @defaultValue 200 */
    maxDestinations: number;
  };
  api: {
    host: string;
    port: number;
    /**
     * Largest JSON request body accepted (413 beyond); a larger message body goes as a multipart upload
     * (up to `blobs.maxBodyBytes`). @defaultValue 1 MiB (HERALD_BODY_LIMIT_BYTES)
     */
    bodyLimitBytes: number;
    /**
     * Herald's API as the world reaches it: pointers in callbacks (to large replies) start with it.
     * @defaultValue `http://<HERALD_API_HOST>:<HERALD_API_PORT>` (HERALD_PUBLIC_URL)
     */
    publicUrl: string;
    keys: ApiKey[];
    /**
     * Requests each API key may make per window, counted by each API host (429 with Retry-After beyond);
     * null = no limit. @defaultValue off (HERALD_RATE_LIMIT, e.g. `100/1s` or `6000/1m`)
     */
    rateLimit: { max: number; windowMs: number } | null;
    /**
     * Messages each API key may have in flight (accepted, not yet in a terminal state); a send beyond
     * it gets 429. Counted through Temporal visibility, so it holds across a fleet within the
     * visibility delay (about a second). null = no limit. @defaultValue off (HERALD_MAX_IN_FLIGHT_PER_KEY)
     */
    maxInFlightPerKey: number | null;
    /**
     * How often each API process reads the event log without a wake-up hint. Appends made in the same
     * process wake its streams at once; on SQLite, appends by a worker process are found by this poll.
     * @defaultValue 200ms (HERALD_EVENT_POLL_INTERVAL)
     */
    eventPollIntervalMs: number;
  };
  /**
   * Standard Webhooks secrets (`whsec_…`) that repliers sign with, by destination host; `*` for any host.
   * Each may be several (a rotation): a reply signed with any of them is accepted.
   */
  replySecrets: SecretsByKey;
  /** Standard Webhooks secrets Herald signs callbacks with, by API key name; `*` for any. Several: signed with all. */
  callbackSecrets: SecretsByKey;
  /**
   * Standard Webhooks secrets Herald signs deliveries with, by destination host; `*` for any. Several:
   * signed with all. A destination with none gets unsigned deliveries (the embedded default generates `*`).
   */
  deliverySecrets: SecretsByKey;
  /**
   * Payload encryption (src/encryption): the keys every payload Herald writes to Temporal, and every
   * dead letter at rest, is encrypted with. Absent: plaintext (the embedded default generates a key).
   */
  encryption: {
    /** HERALD_ENCRYPTION_KEYS: `id:base64` entries, the first current. */
    keyring: Keyring | undefined;
    /**
     * Browser origins allowed to call the codec endpoint (`/codec/*`) with credentials: the Temporal Web
     * UI's. @defaultValue the embedded dev server's UI (HERALD_CODEC_CORS_ORIGINS, comma-separated)
     */
    codecCorsOrigins: string[];
  };
  /** Hosts, IPs or CIDRs that may be called although private, loopback or link-local. */
  destinationAllowlist: string[];
  /** Run-time destination control (src/activities/destination-control.ts). */
  destinationControl: {
    /**
     * off: the worker neither reads nor enforces destination settings (what the benchmark compares
     * against, to measure their cost; changes made through the API then have no effect). @defaultValue on (HERALD_DESTINATION_CONTROL)
     */
    enabled: boolean;
    /** How long a worker uses the settings it read before reading them again. @defaultValue 1s (HERALD_DESTINATION_REFRESH) */
    refreshMs: number;
    /**
     * Where circuit breaker changes are announced (`destination.circuit_opened`, `destination.circuit_closed`),
     * signed with Standard Webhooks; null = not announced. (HERALD_OPERATIONS_WEBHOOK_URL, …_SECRET)
     */
    operationsWebhook: { url: string; secrets: string[] } | null;
  };
  /** Pace of bulk redrives, in messages per second. */
  redriveRatePerSecond: number;
  /**
   * Pace of waking messages after a destination resumes or retries come back on, in workflows per
   * second, so a resume does not send a recovering service every waiting message at once.
   * @defaultValue 50
   */
  wakeRatePerSecond: number;
  /**
   * What a dead-lettered message with an ordering key does to the next one of its key, when the message
   * does not say (`orderingDeadLetter`): `skip` lets it go, `block` holds it until the dead letter is
   * delivered after a redrive, discarded, or its retention ends. @defaultValue 'skip'
   */
  orderingDeadLetter: OrderingDeadLetterMode;
  /**
   * When the API refuses new messages with 429 because Temporal is behind (src/api/admission-control.ts),
   * and how often each API process reads the task queue backlog.
   */
  admission: AdmissionSettings & {
    /** @defaultValue 500ms (HERALD_ADMISSION_POLL_INTERVAL) */
    pollIntervalMs: number;
  };
  /**
   * Longest a reply POST waits for the message to settle before answering 202 (the reply is held by
   * Temporal by then and the message goes on). @defaultValue 5s (HERALD_REPLY_WAIT)
   */
  replyWaitMs: number;
  temporal: {
    /** host:port of the Temporal frontend; empty = start the embedded dev server. */
    address: string;
    namespace: string;
    /** gRPC port of the embedded dev server. */
    devServerPort: number;
    /** Web UI port of the embedded dev server. */
    uiPort: number;
    /**
     * The Temporal Web UI as an operator's browser reaches it: the console links each message to its page
     * there. @defaultValue the embedded dev server's UI, else none (HERALD_TEMPORAL_UI_URL)
     */
    webUiUrl: string;
  };
  taskQueue: string;
  worker: {
    /**
     * How long a stopping worker lets in-flight attempts finish before cancelling them (the SDK's
     * `shutdownGraceTime`). Longer than the usual attempt, so a deploy does not cut and repeat deliveries.
     * @defaultValue 50s
     */
    shutdownGraceMs: number;
    /**
     * Workflows kept in the sticky cache (the SDK's `maxCachedWorkflows`): a parked message in the cache
     * costs memory, one outside it replays its history when its reply comes. 0 turns the cache off.
     * @defaultValue derived from `memoryBudgetBytes` (HERALD_WORKER_CACHED_WORKFLOWS wins when set)
     */
    cachedWorkflows: number;
    /** Which variable set `cachedWorkflows`, for the start-up log. */
    cachedWorkflowsFrom: 'HERALD_WORKER_CACHED_WORKFLOWS' | 'HERALD_WORKER_MEMORY_BUDGET';
    /** The RSS the cache size is derived from (see config/workflow-cache.ts). @defaultValue 512 MiB */
    memoryBudgetBytes: number;
  };
  startup: {
    /**
     * How long a starting worker or API keeps retrying Temporal and the store (SQLite or PostgreSQL) before it gives up
     * and exits; 0 retries forever (an orchestrator's restart loop is then not needed for a late Temporal).
     * @defaultValue 0
     */
    timeoutMs: number;
  };
  dataDir: string;
  /** The SQLite file of the dead-letter store and event log (unused when `database.url` is set). */
  deadLetterDbPath: string;
  database: {
    /**
     * `postgres://…` of a PostgreSQL that holds the dead-letter store and the event log, shared by every
     * host of a fleet; empty = the SQLite file at `deadLetterDbPath`. @defaultValue '' (HERALD_DATABASE_URL)
     */
    url: string;
    /** Connections each process keeps at most in its pool (plus one for LISTEN). @defaultValue 10 */
    poolSize: number;
  };
  /**
   * Large bodies by reference (src/blobs): a body (or reply) above `inlineBytes` lives in the blob store
   * and the workflow carries only its reference; the delivery streams it from there.
   */
  blobs: {
    /**
     * HERALD_BLOB_STORE: `postgres` (the database of HERALD_DATABASE_URL) or a directory. @defaultValue
     * `postgres` with HERALD_DATABASE_URL, else `$HERALD_DATA_DIR/blobs`
     */
    store: { kind: 'postgres' } | { kind: 'file'; directory: string };
    /** Largest message body accepted (multipart upload; 413 beyond). @defaultValue 64 MiB (HERALD_MAX_BODY_BYTES) */
    maxBodyBytes: number;
    /** Bodies and replies above this go to the blob store. @defaultValue 128 KiB (HERALD_INLINE_BODY_BYTES) */
    inlineBytes: number;
    /** A blob is deleted this long after its message ended (and has no dead letter waiting). @defaultValue 7d (HERALD_BLOB_RETENTION) */
    retentionMs: number;
    /** How long a pointer to a large reply (in a callback) works without an API key. @defaultValue 1h (HERALD_BLOB_POINTER_TTL) */
    pointerTtlMs: number;
  };
  retention: {
    /** Redriven and discarded dead-letter records are deleted this long after; 0 keeps them. @defaultValue 30d */
    deadLetterRecordsMs: number;
    /** Events are deleted this long after they happened; 0 keeps them. @defaultValue 7d */
    eventsMs: number;
    /** How often a worker process runs the clean-up. @defaultValue 1h */
    intervalMs: number;
  };
  logLevel: string;
  delivery: DeliverySettings;
  /** Keyed by destination host (`host` or `host:port`, as in the URL). */
  tokenProviders: Record<string, TokenProviderConfig>;
  /**
   * OpenTelemetry traces over OTLP/HTTP (JSON), from the standard OTEL_* variables; off (no interceptor,
   * no span) unless OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set.
   */
  tracing: TracingConfig;
}

/** What a host's admission control is tuned by (HERALD_ADMISSION_*; the logic is src/api/admission-control.ts). */
export interface AdmissionSettings {
  /** Off: every new message is started as before. @defaultValue true */
  enabled: boolean;
  /** Shed while the workflow task backlog holds more tasks than this. */
  maxBacklogCount: number;
  /** Shed while the oldest workflow or activity task waiting for a worker is older than this. */
  maxBacklogAgeMs: number;
  /** Shed while this host's recent start calls took longer than this at p95. */
  maxStartLatencyMs: number;
  /** Start calls this host lets be in flight at once; further new messages get 429. */
  maxStartsInFlight: number;
  /** How far back start latencies count. */
  latencyWindowMs: number;
  /** A backlog sample older than this is ignored (the poll failed: the start itself will say why). */
  sampleMaxAgeMs: number;
  /** Longest Retry-After handed out. */
  maxRetryAfterMs: number;
}

/** Raised with every invalid variable at once, so an operator fixes them in one go. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

/** What a webhook secret must be, for the problem that names a bad one. */
const SECRET_RULE =
  'must be a whsec_… secret (base64 of 24 bytes or more after the prefix), or several (space-separated, or a JSON array)';

/**
 * A configured webhook secret value as a list: one `whsec_…`, several space-separated, or a JSON array;
 * undefined when any is not a Standard Webhooks secret. Checked strictly: a lenient base64 decode would
 * turn a typo (or a bare `whsec_`) into a short or empty HMAC key that anyone could sign with.
 */
function secretList(given: unknown): string[] | undefined {
  const list = typeof given === 'string' ? given.split(/\s+/).filter(Boolean) : given;
  if (!Array.isArray(list) || list.length === 0) return undefined;
  const valid = (each: unknown) => {
    if (typeof each !== 'string' || !each.startsWith('whsec_')) return false;
    const key = each.slice('whsec_'.length);
    return /^[A-Za-z0-9+/]+={0,2}$/.test(key) && key.length % 4 === 0 && Buffer.from(key, 'base64').length >= 24;
  };
  return list.every(valid) ? (list as string[]) : undefined;
}

/** Reads and validates the configuration from an environment (process.env by default). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): HeraldConfig {
  const problems: string[] = [];
  const read = (name: string, fallback: string): string => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? fallback : value.trim();
  };
  const duration = (name: string, fallback: string): number => {
    const raw = read(name, fallback);
    // A plain number is milliseconds, as in messages.
    const ms = parseDuration(/^\d+$/.test(raw) ? Number(raw) : raw);
    if (ms === undefined) problems.push(`${name}: not a duration (use e.g. 500ms, 30s, 5m, 2h, 7d)`);
    // NaN, not 0, so a bad value fails no comparison below (no second problem blaming another variable).
    return ms ?? Number.NaN;
  };
  const number = (name: string, fallback: number, min: number, max: number, integer = true): number => {
    const raw = read(name, String(fallback));
    const value = Number(raw);
    if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
      problems.push(`${name}: must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got "${raw}"`);
    }
    return value;
  };
  const memoryBudget = (name: string, fallback: string): number => {
    const raw = read(name, fallback);
    const bytes = parseByteSize(raw);
    const minimumMiB = minimumMemoryBudgetMiB();
    if (bytes === undefined || bytes < minimumMiB * 2 ** 20 || bytes > 2 ** 40) {
      problems.push(
        `${name}: must be a size from ${minimumMiB}MiB (a worker's base plus ${MIN_CACHED_WORKFLOWS} cached workflows) ` +
          `to 1024GiB, such as 512MiB or 2GiB; got "${raw}"`,
      );
      return Number.NaN;
    }
    return bytes;
  };
  const cachedWorkflows = (name: string): number | undefined => {
    const raw = read(name, '');
    if (raw === '') return undefined;
    const value = Number(raw);
    // The SDK would turn 1 into 2 with a warning: refused here rather than changed behind the operator's back.
    if (!Number.isInteger(value) || (value !== 0 && value < MIN_CACHED_WORKFLOWS) || value > MAX_CACHED_WORKFLOWS) {
      problems.push(
        `${name}: must be 0 (no cache: every task replays its history) or an integer from ${MIN_CACHED_WORKFLOWS} ` +
          `to ${MAX_CACHED_WORKFLOWS}, got "${raw}"`,
      );
      return Number.NaN;
    }
    return value;
  };
  const json = <T>(name: string, fallback: T): T => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      problems.push(`${name}: not valid JSON`);
      return fallback;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      problems.push(`${name}: must be a JSON object`);
      return fallback;
    }
    return value as T;
  };

  const logLevel = (level: string): string => {
    if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(level)) {
      problems.push(`LOG_LEVEL: must be one of trace, debug, info, warn, error, fatal, silent; got "${level}"`);
    }
    return level;
  };
  const orderingDeadLetter = (mode: string): OrderingDeadLetterMode => {
    if ((ORDERING_DEAD_LETTER_MODES as readonly string[]).includes(mode)) return mode as OrderingDeadLetterMode;
    problems.push(`HERALD_ORDERING_DEAD_LETTER: must be skip or block, got "${mode}"`);
    return 'skip';
  };
  const databaseUrl = (url: string): string => {
    // The password stays out of the message: only the scheme is wrong.
    if (url !== '' && !/^postgres(ql)?:\/\/./.test(url)) {
      problems.push('HERALD_DATABASE_URL: must be a postgres:// or postgresql:// URL, or empty for SQLite');
    }
    return url;
  };
  const flag = (name: string, fallback: boolean): boolean => {
    const raw = read(name, fallback ? 'on' : 'off').toLowerCase();
    if (['on', 'true', '1', 'yes'].includes(raw)) return true;
    if (['off', 'false', '0', 'no'].includes(raw)) return false;
    problems.push(`${name}: must be on or off, got "${raw}"`);
    return fallback;
  };
  // Defaults tuned on the 2-core development machine, Temporal, a worker and the API sharing it (README,
  // Operations, "Overload", has the figures): the backlog limits are about what one worker clears in a few
  // seconds, the latency bound a few times a quick start there.
  const rateLimit = (): HeraldConfig['api']['rateLimit'] => {
    const raw = read('HERALD_RATE_LIMIT', 'off').trim();
    if (raw.toLowerCase() === 'off') return null;
    const match = /^(\d{1,9})\s*\/\s*(\S+)$/.exec(raw);
    const windowMs = match ? parseDuration(match[2]!) : undefined;
    const max = match ? Number(match[1]) : 0;
    if (!match || windowMs === undefined || windowMs < 1000 || max < 1) {
      problems.push(
        `HERALD_RATE_LIMIT: must be off or requests/window with a window of 1s or more, such as 100/1s or 6000/1m; got "${raw}"`,
      );
      return null;
    }
    return { max, windowMs };
  };
  const offOrCount = (name: string): number | null => {
    const raw = read(name, 'off').trim();
    if (raw.toLowerCase() === 'off') return null;
    if (!/^\d{1,9}$/.test(raw) || Number(raw) < 1) {
      problems.push(`${name}: must be off or a whole number of at least 1; got "${raw}"`);
      return null;
    }
    return Number(raw);
  };
  const admissionSettings = (): HeraldConfig['admission'] => {
    const pollIntervalMs = duration('HERALD_ADMISSION_POLL_INTERVAL', '500ms');
    if (pollIntervalMs < 50 || pollIntervalMs > 60_000) {
      problems.push('HERALD_ADMISSION_POLL_INTERVAL: must be from 50ms to 1m');
    }
    const maxRetryAfterMs = duration('HERALD_ADMISSION_MAX_RETRY_AFTER', '10s');
    if (maxRetryAfterMs < 1000) problems.push('HERALD_ADMISSION_MAX_RETRY_AFTER: must be at least 1s');
    return {
      enabled: flag('HERALD_ADMISSION', true),
      pollIntervalMs,
      maxBacklogCount: number('HERALD_ADMISSION_MAX_BACKLOG', 100, 1, 10_000_000),
      maxBacklogAgeMs: duration('HERALD_ADMISSION_MAX_BACKLOG_AGE', '2s'),
      maxStartLatencyMs: duration('HERALD_ADMISSION_MAX_START_LATENCY', '300ms'),
      maxStartsInFlight: number('HERALD_ADMISSION_MAX_STARTS_IN_FLIGHT', 32, 1, 100_000),
      // Two seconds of starts: enough calls for a p95 at any useful rate, and a slow spell is forgotten soon after.
      latencyWindowMs: 2_000,
      // A reading this old means the polls fail: Temporal is unreachable, and starts say so with 503.
      sampleMaxAgeMs: Math.max(5_000, 4 * pollIntervalMs),
      maxRetryAfterMs,
    };
  };
  const dataDir = resolve(read('HERALD_DATA_DIR', '.data'));
  const byteSize = (name: string, fallback: string, min: number, max: number): number => {
    const raw = read(name, fallback);
    const bytes = parseByteSize(raw);
    if (bytes === undefined || bytes < min || bytes > max) {
      problems.push(`${name}: must be a size from ${min} bytes to ${max} bytes, such as 64MiB or 128KiB; got "${raw}"`);
      return Number.NaN;
    }
    return bytes;
  };
  const blobStore = (): HeraldConfig['blobs']['store'] => {
    const raw = read('HERALD_BLOB_STORE', read('HERALD_DATABASE_URL', '') ? 'postgres' : join(dataDir, 'blobs'));
    if (raw.toLowerCase() === 'postgres') {
      if (!read('HERALD_DATABASE_URL', '')) problems.push('HERALD_BLOB_STORE: postgres needs HERALD_DATABASE_URL');
      return { kind: 'postgres' };
    }
    return { kind: 'file', directory: resolve(raw.replace(/^file:\/\//, '')) };
  };
  const publicUrl = (): string => {
    // Listening on every address is no address to point at: this machine's loopback is.
    const host = read('HERALD_API_HOST', '127.0.0.1').replace(/^(0\.0\.0\.0|::|\[::\])$/, '127.0.0.1');
    const raw =
      read('HERALD_PUBLIC_URL', '') ||
      `http://${host.includes(':') ? `[${host}]` : host}:${read('HERALD_API_PORT', '3000')}`;
    if (!/^https?:\/\/[^/\s]+(\/\S*)?$/.test(raw)) {
      problems.push(`HERALD_PUBLIC_URL: must be an http:// or https:// URL, got "${raw}"`);
    }
    return raw.replace(/\/+$/, '');
  };
  const tokenProviders = json<Record<string, TokenProviderConfig>>('HERALD_TOKEN_PROVIDERS', {});
  for (const [host, provider] of Object.entries(tokenProviders)) {
    for (const key of ['tokenUrl', 'clientId', 'clientSecret'] as const) {
      if (typeof provider?.[key] !== 'string' || provider[key] === '') {
        problems.push(`HERALD_TOKEN_PROVIDERS: "${host}" needs a ${key}`);
      }
    }
  }

  const tracing = (): TracingConfig => {
    const exporter = read('OTEL_TRACES_EXPORTER', 'otlp').toLowerCase();
    if (exporter !== 'otlp' && exporter !== 'none') {
      problems.push(`OTEL_TRACES_EXPORTER: Herald exports traces with otlp (or none for off), got "${exporter}"`);
    }
    const off = read('OTEL_SDK_DISABLED', 'false').toLowerCase() === 'true' || exporter === 'none';
    const base = read('OTEL_EXPORTER_OTLP_ENDPOINT', '');
    // The signal-specific variable is the full URL; the general one is a base the path is appended to.
    const tracesUrl = off
      ? ''
      : read('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', '') || (base ? `${base.replace(/\/+$/, '')}/v1/traces` : '');
    if (tracesUrl && !/^https?:\/\/[^/]/.test(tracesUrl)) {
      problems.push("OTEL_EXPORTER_OTLP_ENDPOINT: must be an http:// or https:// URL (the collector's OTLP/HTTP port)");
    }
    const protocol = read('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', read('OTEL_EXPORTER_OTLP_PROTOCOL', 'http/json'));
    if (tracesUrl && protocol !== 'http/json') {
      problems.push(
        `OTEL_EXPORTER_OTLP_PROTOCOL: Herald exports OTLP over HTTP as JSON; set http/json (or leave it unset) and point the endpoint at the collector's OTLP/HTTP port (4318), got "${protocol}"`,
      );
    }
    const headers: Record<string, string> = {};
    for (const name of ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS']) {
      for (const entry of read(name, '')
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean)) {
        const separator = entry.indexOf('=');
        // The values are often credentials: the problem names the variable, never the entry.
        let value: string | undefined;
        try {
          value = separator < 1 ? undefined : decodeURIComponent(entry.slice(separator + 1).trim());
        } catch {
          value = undefined;
        }
        if (value === undefined)
          problems.push(`${name}: each entry must be key=value (comma-separated, values URL-encoded)`);
        else headers[entry.slice(0, separator).trim()] = value;
      }
    }
    return { tracesUrl, headers, serviceName: read('OTEL_SERVICE_NAME', '') || undefined };
  };

  const embedded = read('TEMPORAL_ADDRESS', '') === '';
  const memoryBudgetBytes = memoryBudget('HERALD_WORKER_MEMORY_BUDGET', DEFAULT_WORKER_MEMORY_BUDGET);
  // An explicit count is the more precise statement, so it wins over the budget.
  const explicitCache = cachedWorkflows('HERALD_WORKER_CACHED_WORKFLOWS');
  const keys: ApiKey[] = [];
  for (const entry of read('HERALD_API_KEYS', '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    // name:key, or name:key:role (roles joined with +). A key may hold ':' as before; a last part that
    // looks like a word (lower-case letters and +) is a role field, so a misspelt role is an error
    // instead of silently becoming part of an unscoped key.
    const separator = entry.indexOf(':');
    const name = entry.slice(0, separator);
    let key = entry.slice(separator + 1);
    let roles: ApiKeyRoles = 'unscoped';
    const last = key.lastIndexOf(':');
    const tail = last > 0 ? key.slice(last + 1) : undefined;
    if (tail !== undefined && /^[A-Za-z+]*$/.test(tail)) {
      const named = tail.split('+');
      const unknown = named.filter((role) => !isApiRole(role));
      if (unknown.length > 0) {
        problems.push(
          `HERALD_API_KEYS: key "${name}" has role "${tail}"; roles are ${API_ROLES.join(', ')} (join several with +; a key may not end in ':' and letters)`,
        );
        continue;
      }
      // In one order, so the same roles written in two orders compare equal.
      roles = API_ROLES.filter((role) => named.includes(role));
      key = key.slice(0, last);
    }
    if (separator < 1 || key.length < 16) {
      problems.push(
        `HERALD_API_KEYS: each entry must be name:key or name:key:role, with a key of at least 16 characters`,
      );
      continue;
    }
    // The name is what HeraldSender holds, and goes into visibility queries between quotes.
    if (/['"\\\s]/.test(name)) {
      problems.push(`HERALD_API_KEYS: the name "${name}" may not hold quotes, backslashes or spaces`);
      continue;
    }
    // The operational webhooks sign as this name (OPERATIONS_SENDER): a key of that name would take their secret.
    if (name === 'herald-operations') {
      problems.push('HERALD_API_KEYS: the name "herald-operations" is Herald\'s own (its operational webhooks)');
      continue;
    }
    if (keys.some((known) => known.key === key)) {
      problems.push(`HERALD_API_KEYS: the key of "${name}" is listed twice; each key belongs to one name`);
      continue;
    }
    // Two keys may share a name (rotating a key keeps its messages its own), but not with other rights.
    const sameName = keys.find((known) => known.name === name);
    if (sameName && JSON.stringify(sameName.roles) !== JSON.stringify(roles)) {
      problems.push(`HERALD_API_KEYS: the keys named "${name}" must have the same roles`);
    }
    keys.push({ name, key, roles });
  }
  /**
   * `{"key": "whsec_…"}`, where a value may hold several secrets (space-separated, or a JSON array):
   * during a rotation both the old and the new one.
   */
  const secrets = (name: string): SecretsByKey => {
    const value = json<Record<string, unknown>>(name, {});
    const parsed: Record<string, string[]> = {};
    for (const [key, given] of Object.entries(value)) {
      const list = secretList(given);
      if (!list) {
        problems.push(`${name}: the secret for "${key}" ${SECRET_RULE}`);
        continue;
      }
      parsed[key] = list;
    }
    return parsed;
  };
  const operationsSettings = (): HeraldConfig['destinationControl'] => {
    const url = read('HERALD_OPERATIONS_WEBHOOK_URL', '');
    const secret = read('HERALD_OPERATIONS_WEBHOOK_SECRET', '');
    const refreshMs = duration('HERALD_DESTINATION_REFRESH', '1s');
    const switched = read('HERALD_DESTINATION_CONTROL', 'on').toLowerCase();
    if (switched !== 'on' && switched !== 'off') problems.push('HERALD_DESTINATION_CONTROL: must be on or off');
    const enabled = switched !== 'off';
    if (url === '') {
      if (secret !== '') problems.push('HERALD_OPERATIONS_WEBHOOK_SECRET: set HERALD_OPERATIONS_WEBHOOK_URL as well');
      return { enabled, refreshMs, operationsWebhook: null };
    }
    if (!/^https?:\/\//.test(url) || !URL.canParse(url)) {
      problems.push('HERALD_OPERATIONS_WEBHOOK_URL: must be an http(s) URL');
    }
    const secrets = secretList(secret);
    if (!secrets) {
      problems.push(
        `HERALD_OPERATIONS_WEBHOOK_SECRET: required with HERALD_OPERATIONS_WEBHOOK_URL; ${SECRET_RULE.replace('must', 'it must')}`,
      );
    }
    return { enabled, refreshMs, operationsWebhook: { url, secrets: secrets ?? [] } };
  };
  const encryptionSettings = (uiPort: number): HeraldConfig['encryption'] => {
    const keysText = read('HERALD_ENCRYPTION_KEYS', '');
    let keyring: Keyring | undefined;
    if (keysText.trim() !== '') {
      const parsed = parseKeyring(keysText);
      if (parsed.ok) keyring = parsed.keyring;
      else problems.push(...parsed.problems.map((problem) => `HERALD_ENCRYPTION_KEYS: ${problem}`));
    }
    const originsDefault = embedded ? `http://127.0.0.1:${uiPort},http://localhost:${uiPort}` : '';
    const codecCorsOrigins = read('HERALD_CODEC_CORS_ORIGINS', originsDefault)
      .split(',')
      .map((origin) => origin.trim().replace(/\/$/, ''))
      .filter(Boolean);
    for (const origin of codecCorsOrigins) {
      if (!/^https?:\/\/[^/\s]+$/.test(origin)) {
        problems.push(`HERALD_CODEC_CORS_ORIGINS: "${origin}" is not an origin (scheme://host[:port])`);
      }
    }
    return { keyring, codecCorsOrigins };
  };
  const replySecrets = secrets('HERALD_REPLY_SECRETS');
  const callbackSecrets = secrets('HERALD_CALLBACK_SECRETS');
  const deliverySecrets = secrets('HERALD_DELIVERY_SECRETS');
  // The embedded dev server is for trying Herald on one machine, against receivers on that machine.
  const allowlistDefault = embedded ? 'localhost,127.0.0.1,::1' : '';

  const webUiUrl = () => {
    const url = read('HERALD_TEMPORAL_UI_URL', '').replace(/\/+$/, '');
    if (url === '') return embedded ? `http://localhost:${uiPort}` : '';
    if (!/^https?:\/\/[^/]/.test(url) || !URL.canParse(url)) {
      problems.push('HERALD_TEMPORAL_UI_URL: must be an http(s) URL (the Temporal Web UI as a browser reaches it)');
    }
    return url;
  };
  const metricsPort = read('HERALD_METRICS_PORT', '9464').toLowerCase();
  const uiPort = number('TEMPORAL_UI_PORT', 8233, 1, 65535);
  const config: HeraldConfig = {
    metrics: {
      port: metricsPort === 'off' ? null : number('HERALD_METRICS_PORT', 9464, 0, 65535),
      host: read('HERALD_METRICS_HOST', '127.0.0.1'),
      token: read('HERALD_METRICS_TOKEN', ''),
      maxDestinations: number('HERALD_METRICS_MAX_DESTINATIONS', 200, 1, 100_000),
    },
    api: {
      host: read('HERALD_API_HOST', '127.0.0.1'),
      port: number('HERALD_API_PORT', 3000, 0, 65535),
      bodyLimitBytes: number('HERALD_BODY_LIMIT_BYTES', 1_048_576, 1024, 1_800_000),
      publicUrl: publicUrl(),
      keys,
      rateLimit: rateLimit(),
      maxInFlightPerKey: offOrCount('HERALD_MAX_IN_FLIGHT_PER_KEY'),
      eventPollIntervalMs: duration('HERALD_EVENT_POLL_INTERVAL', '200ms'),
    },
    replySecrets,
    callbackSecrets,
    deliverySecrets,
    encryption: encryptionSettings(uiPort),
    // `none` switches off even the embedded default.
    destinationAllowlist: read('HERALD_DESTINATION_ALLOWLIST', allowlistDefault)
      .replace(/^none$/i, '')
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean),
    destinationControl: operationsSettings(),
    redriveRatePerSecond: number('HERALD_REDRIVE_RATE', 50, 1, 10_000),
    wakeRatePerSecond: number('HERALD_WAKE_RATE', 50, 1, 10_000),
    orderingDeadLetter: orderingDeadLetter(read('HERALD_ORDERING_DEAD_LETTER', 'skip')),
    replyWaitMs: duration('HERALD_REPLY_WAIT', '5s'),
    admission: admissionSettings(),
    temporal: {
      address: read('TEMPORAL_ADDRESS', ''),
      namespace: read('TEMPORAL_NAMESPACE', 'default'),
      devServerPort: number('TEMPORAL_PORT', 7233, 1, 65535),
      uiPort,
      // The embedded dev server's UI; elsewhere whatever the operator says (empty: the console links nowhere).
      webUiUrl: webUiUrl(),
    },
    taskQueue: read('HERALD_TASK_QUEUE', 'herald'),
    // Above the 30s default attempt timeout, below docker-compose's 60s stop_grace_period.
    worker: {
      shutdownGraceMs: duration('HERALD_WORKER_SHUTDOWN_GRACE', '50s'),
      cachedWorkflows: explicitCache ?? cachedWorkflowsForBudget(memoryBudgetBytes),
      cachedWorkflowsFrom:
        explicitCache === undefined ? 'HERALD_WORKER_MEMORY_BUDGET' : 'HERALD_WORKER_CACHED_WORKFLOWS',
      memoryBudgetBytes,
    },
    startup: { timeoutMs: duration('HERALD_STARTUP_TIMEOUT', '0') },
    dataDir,
    deadLetterDbPath: resolve(read('HERALD_DEAD_LETTER_DB', join(dataDir, 'dead-letters.sqlite'))),
    database: {
      url: databaseUrl(read('HERALD_DATABASE_URL', '')),
      poolSize: number('HERALD_DATABASE_POOL_SIZE', 10, 1, 1000),
    },
    blobs: {
      store: blobStore(),
      maxBodyBytes: byteSize('HERALD_MAX_BODY_BYTES', '64MiB', 1024, 2 ** 40),
      inlineBytes: byteSize('HERALD_INLINE_BODY_BYTES', '128KiB', 1024, 1_048_576),
      retentionMs: duration('HERALD_BLOB_RETENTION', '7d'),
      pointerTtlMs: duration('HERALD_BLOB_POINTER_TTL', '1h'),
    },
    retention: {
      deadLetterRecordsMs: duration('HERALD_DEAD_LETTER_RECORD_RETENTION', '30d'),
      eventsMs: duration('HERALD_EVENT_RETENTION', '7d'),
      intervalMs: duration('HERALD_RETENTION_INTERVAL', '1h'),
    },
    logLevel: logLevel(read('LOG_LEVEL', 'info')),
    delivery: {
      defaults: {
        initialIntervalMs: duration('HERALD_RETRY_INITIAL_INTERVAL', '1s'),
        backoffCoefficient: number('HERALD_RETRY_BACKOFF_COEFFICIENT', 2, 1, 100, false),
        maximumIntervalMs: duration('HERALD_RETRY_MAXIMUM_INTERVAL', '5m'),
        maximumAttempts: number('HERALD_RETRY_MAXIMUM_ATTEMPTS', 10, 1, 10_000),
        jitter: number('HERALD_RETRY_JITTER', 0.2, 0, 1, false),
        attemptTimeoutMs: duration('HERALD_RETRY_ATTEMPT_TIMEOUT', '30s'),
        deadlineMs: duration('HERALD_RETRY_DEADLINE', '24h'),
      },
      limits: {
        maximumAttempts: number('HERALD_LIMIT_MAXIMUM_ATTEMPTS', 100, 1, 10_000),
        maximumIntervalMs: duration('HERALD_LIMIT_MAXIMUM_INTERVAL', '1h'),
        attemptTimeoutMs: duration('HERALD_LIMIT_ATTEMPT_TIMEOUT', '5m'),
        deadlineMs: duration('HERALD_LIMIT_DEADLINE', '30d'),
        replyTimeoutMs: duration('HERALD_LIMIT_REPLY_TIMEOUT', '30d'),
      },
      maxRetryAfterMs: duration('HERALD_MAX_RETRY_AFTER', '1h'),
      deadLetterRetentionMs: duration('HERALD_DEAD_LETTER_RETENTION', '7d'),
      responseExcerptBytes: number('HERALD_RESPONSE_EXCERPT_BYTES', 2048, 0, 65_536),
      callback: {
        initialIntervalMs: duration('HERALD_CALLBACK_INITIAL_INTERVAL', '1s'),
        backoffCoefficient: 2,
        maximumIntervalMs: duration('HERALD_CALLBACK_MAXIMUM_INTERVAL', '10m'),
        maximumAttempts: number('HERALD_CALLBACK_MAXIMUM_ATTEMPTS', 20, 1, 10_000),
        jitter: 0.2,
        attemptTimeoutMs: duration('HERALD_CALLBACK_ATTEMPT_TIMEOUT', '10s'),
        deadlineMs: duration('HERALD_CALLBACK_DEADLINE', '24h'),
      },
    },
    tokenProviders,
    tracing: tracing(),
  };
  try {
    parseAllowlist(config.destinationAllowlist);
  } catch {
    problems.push('HERALD_DESTINATION_ALLOWLIST: not a list of hosts, IP addresses and CIDRs');
  }
  // A default beyond its limit would refuse every message on a field its sender never set.
  const { defaults, limits } = config.delivery;
  for (const [variable, value, limit, limitVariable] of [
    [
      'HERALD_RETRY_MAXIMUM_ATTEMPTS',
      defaults.maximumAttempts,
      limits.maximumAttempts,
      'HERALD_LIMIT_MAXIMUM_ATTEMPTS',
    ],
    [
      'HERALD_RETRY_MAXIMUM_INTERVAL',
      defaults.maximumIntervalMs,
      limits.maximumIntervalMs,
      'HERALD_LIMIT_MAXIMUM_INTERVAL',
    ],
    [
      'HERALD_RETRY_ATTEMPT_TIMEOUT',
      defaults.attemptTimeoutMs,
      limits.attemptTimeoutMs,
      'HERALD_LIMIT_ATTEMPT_TIMEOUT',
    ],
    ['HERALD_RETRY_DEADLINE', defaults.deadlineMs, limits.deadlineMs, 'HERALD_LIMIT_DEADLINE'],
  ] as const) {
    if (value > limit) problems.push(`${variable}: the default must not exceed ${limitVariable}`);
  }
  if (config.blobs.pointerTtlMs <= 0) problems.push('HERALD_BLOB_POINTER_TTL: must be above 0');
  if (config.blobs.maxBodyBytes < config.blobs.inlineBytes) {
    problems.push('HERALD_MAX_BODY_BYTES: must not be below HERALD_INLINE_BODY_BYTES');
  }
  if (config.retention.intervalMs === 0) problems.push('HERALD_RETENTION_INTERVAL: must be above 0');
  if (config.delivery.defaults.attemptTimeoutMs > config.delivery.defaults.deadlineMs) {
    problems.push('HERALD_RETRY_ATTEMPT_TIMEOUT: must not exceed HERALD_RETRY_DEADLINE');
  }
  // Below 10 ms the poll is a busy loop; above a minute a worker's event on another process waits that long.
  const poll = config.api.eventPollIntervalMs;
  if (poll < 10 || poll > 60_000) problems.push('HERALD_EVENT_POLL_INTERVAL: must be from 10ms to 1m');
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** The address clients and workers connect to: the configured one, or the embedded dev server's. */
export function temporalAddress(config: HeraldConfig): string {
  return config.temporal.address || `127.0.0.1:${config.temporal.devServerPort}`;
}

/** Where the dead letters and events live, for logs: never the database password. */
export function storeDescription(config: HeraldConfig): string {
  if (!config.database.url) return config.deadLetterDbPath;
  try {
    const url = new URL(config.database.url);
    return `PostgreSQL ${url.host}${url.pathname}`;
  } catch {
    return 'PostgreSQL';
  }
}
