/**
 * Temporal on PostgreSQL without Docker: the server built from the Go module proxy
 * (scripts/temporal-server/build.sh), its schemas created with deploy/temporal/setup-schema.sh, and the
 * server started with deploy/temporal/temporal-server.yaml — the same version, schema steps and config
 * file as docker-compose.yml. Then what an operator does once per cluster: the namespace, and Herald's
 * search attributes through the operator API. Used by `npm run temporal:fleet` and the fleet tests.
 */
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { HERALD_SEARCH_ATTRIBUTES } from '../../src/contract/search-attributes';
import { ensureSearchAttributes } from '../../src/temporal/search-attributes-registration';

const ROOT = join(__dirname, '..', '..');
const DEPLOY = join(ROOT, 'deploy', 'temporal');

/** The pinned server version (deploy/temporal/server-version; docker-compose.yml's tags match it). */
export const TEMPORAL_SERVER_VERSION = readFileSync(join(DEPLOY, 'server-version'), 'utf8').trim();

/** Where build.sh puts a version: bin/temporal-server, bin/temporal-sql-tool, schema/. */
export interface TemporalServerBuild {
  version: string;
  dir: string;
  serverPath: string;
  sqlToolPath: string;
  schemaDir: string;
}

/** The databases of Temporal's two stores, on one PostgreSQL. */
export interface TemporalDatabases {
  /** The default (history, executions) store's database. @defaultValue temporal */
  default: string;
  /** The SQL visibility store's database. @defaultValue temporal_visibility */
  visibility: string;
}

export interface TemporalServerOptions {
  build: TemporalServerBuild;
  /** A PostgreSQL role that may create databases, e.g. `postgres://postgres:pw@127.0.0.1:5432/postgres`. */
  postgresUrl: string;
  databases?: Partial<TemporalDatabases>;
  /** The namespace to create (if the server has none by that name) and register search attributes on. */
  namespace?: string;
  /** The frontend's gRPC port; 0 (default) picks a free one. Every other port is picked free. */
  port?: number;
  /** Bind address of every service. @defaultValue 127.0.0.1 */
  host?: string;
  /** The server's own log level (deploy/temporal/temporal-server.yaml). @defaultValue warn */
  logLevel?: string;
  /** Each line the server and the schema tool print. */
  log?: (line: string) => void;
  /** How long the server may take to serve the namespace. @defaultValue 120 s */
  readyTimeoutMs?: number;
}

/** How long each step of {@link startTemporalServer} took, in milliseconds. */
export interface TemporalServerTimings {
  schemaMs: number;
  /** From spawning the server to the frontend answering its health check. */
  serveMs: number;
  /** Namespace and search attributes, until both are usable. */
  registerMs: number;
}

export interface RunningTemporalServer {
  /** host:port of the frontend, as this host reaches it. */
  address: string;
  /** host:port other hosts use (the broadcast address when bound to 0.0.0.0). */
  advertisedAddress: string;
  namespace: string;
  /** The frontend's HTTP API (`/api/v1/…`). */
  httpUrl: string;
  databases: TemporalDatabases;
  timings: TemporalServerTimings;
  process: ChildProcess;
  /** SIGTERM, then SIGKILL after 15 s; resolves once it exited. Safe to call twice. */
  stop(): Promise<void>;
}

/** Runs build.sh (a no-op when this version is built) and answers where the build is. */
export async function buildTemporalServer(
  options: { log?: (line: string) => void; toolsDir?: string } = {},
): Promise<TemporalServerBuild> {
  const toolsDir = options.toolsDir ?? join(ROOT, '.tools', 'temporal-server');
  await run('bash', [join(__dirname, 'build.sh')], { TEMPORAL_SERVER_DIR: toolsDir }, options.log);
  const dir = join(toolsDir, TEMPORAL_SERVER_VERSION);
  return {
    version: TEMPORAL_SERVER_VERSION,
    dir,
    serverPath: join(dir, 'bin', 'temporal-server'),
    sqlToolPath: join(dir, 'bin', 'temporal-sql-tool'),
    schemaDir: join(dir, 'schema'),
  };
}

/** Creates or upgrades both databases' schemas (deploy/temporal/setup-schema.sh); idempotent. */
export async function setupTemporalSchemas(
  build: TemporalServerBuild,
  postgresUrl: string,
  databases: TemporalDatabases,
  log?: (line: string) => void,
): Promise<void> {
  const pg = parsePostgresUrl(postgresUrl);
  await run(
    'sh',
    [join(DEPLOY, 'setup-schema.sh')],
    {
      SQL_HOST: pg.host,
      SQL_PORT: pg.port,
      SQL_USER: pg.user,
      SQL_PASSWORD: pg.password,
      DBNAME: databases.default,
      VISIBILITY_DBNAME: databases.visibility,
      TEMPORAL_SQL_TOOL: build.sqlToolPath,
      TEMPORAL_SCHEMA_DIR: build.schemaDir,
    },
    // The tool logs every file and statement: kept for an error, not passed on.
    (line) => (/DEBUG|INFO/.test(line) ? undefined : log?.(line)),
  );
}

/**
 * Sets up the schemas, starts the server on free ports and resolves once the namespace serves
 * requests with Herald's search attributes registered. On any failure the server is stopped.
 */
export async function startTemporalServer(options: TemporalServerOptions): Promise<RunningTemporalServer> {
  const log = options.log ?? (() => undefined);
  const namespace = options.namespace ?? 'default';
  const host = options.host ?? '127.0.0.1';
  // Bound to every interface, the services must announce an address the others can reach (as the
  // image's entrypoint does under Docker); this process still reaches the frontend on loopback.
  const wildcard = host === '0.0.0.0' || host === '::';
  const broadcast = wildcard ? (process.env.TEMPORAL_BROADCAST_ADDRESS ?? firstExternalAddress()) : undefined;
  const reachable = wildcard ? '127.0.0.1' : host;
  const databases: TemporalDatabases = {
    default: options.databases?.default ?? 'temporal',
    visibility: options.databases?.visibility ?? 'temporal_visibility',
  };
  const pg = parsePostgresUrl(options.postgresUrl);

  let mark = Date.now();
  await setupTemporalSchemas(options.build, options.postgresUrl, databases, log);
  const schemaMs = Date.now() - mark;

  const [grpc, http, ...others] = await freePorts(9, options.port ? [options.port] : []);
  const ports = { grpc: options.port || grpc!, http: http!, others };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // As docker-compose.yml starts the image (`temporal-server start`): config file and no-auth by variable.
    TEMPORAL_SERVER_CONFIG_FILE_PATH: join(DEPLOY, 'temporal-server.yaml'),
    TEMPORAL_ALLOW_NO_AUTH: 'true',
    DYNAMIC_CONFIG_FILE_PATH: join(DEPLOY, 'dynamic-config.yaml'),
    LOG_LEVEL: options.logLevel ?? 'warn',
    POSTGRES_SEEDS: pg.host,
    DB_PORT: pg.port,
    POSTGRES_USER: pg.user,
    POSTGRES_PWD: pg.password,
    DBNAME: databases.default,
    VISIBILITY_DBNAME: databases.visibility,
    BIND_ON_IP: host,
    ...(broadcast ? { TEMPORAL_BROADCAST_ADDRESS: broadcast } : {}),
    FRONTEND_GRPC_PORT: String(ports.grpc),
    FRONTEND_HTTP_PORT: String(ports.http),
    ...Object.fromEntries(
      [
        'FRONTEND_MEMBERSHIP_PORT',
        'MATCHING_GRPC_PORT',
        'MATCHING_MEMBERSHIP_PORT',
        'HISTORY_GRPC_PORT',
        'HISTORY_MEMBERSHIP_PORT',
        'WORKER_GRPC_PORT',
        'WORKER_MEMBERSHIP_PORT',
      ].map((name, i) => [name, String(ports.others[i])]),
    ),
  };
  mark = Date.now();
  // Through run-while-parent-lives.mjs: the Go server does not notice its parent dying, and a test run
  // killed with SIGKILL must not leave it holding ports and PostgreSQL connections.
  const child = spawn(
    process.execPath,
    [join(ROOT, 'scripts', 'run-while-parent-lives.mjs'), options.build.serverPath, 'start'],
    // Its own process group: Ctrl-C in a terminal must not stop it before the Herald processes using it.
    { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let stopping = false;
  const tail: string[] = [];
  const forward = (chunk: Buffer) =>
    chunk
      .toString('utf8')
      .split('\n')
      .filter((line) => line.trim())
      .forEach((line) => {
        tail.push(line.slice(0, 500));
        if (tail.length > 20) tail.shift();
        // Once asked to stop, its services complain about each other going away: noise, not news.
        if (!stopping) log(line);
      });
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const stop = async () => {
    stopping = true;
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };

  const address = `${reachable}:${ports.grpc}`;
  try {
    const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);
    const connection = await untilServing(address, exited, deadline);
    const serveMs = Date.now() - mark;
    mark = Date.now();
    try {
      await registerNamespace(connection, namespace, deadline);
    } finally {
      await connection.close();
    }
    return {
      address,
      namespace,
      httpUrl: `http://${reachable}:${ports.http}`,
      advertisedAddress: `${broadcast ?? host}:${ports.grpc}`,
      databases,
      timings: { schemaMs, serveMs, registerMs: Date.now() - mark },
      process: child,
      stop,
    };
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n--- the server's last lines ---\n${tail.join('\n')}`, {
      cause: error,
    });
  }
}

/** Connects once the frontend answers its health check; fails at once if the server exits. */
async function untilServing(
  address: string,
  exited: Promise<[number | null, NodeJS.Signals | null]>,
  deadline: number,
): Promise<Connection> {
  let exit: string | undefined;
  void exited.then(([code, signal]) => (exit = `exited (${code ?? signal}) before it served`));
  let last: unknown;
  while (Date.now() < deadline) {
    if (exit) throw new Error(`the Temporal server ${exit}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      try {
        await connection.healthService.check({});
        return connection;
      } catch (error) {
        await connection.close();
        throw error;
      }
    } catch (error) {
      last = error;
      await sleep(250);
    }
  }
  throw new Error(`the Temporal server did not serve on ${address} in time: ${String(last)}`);
}

/**
 * What an operator does once: create the namespace (the plain server creates none but its system
 * namespace; one week of retention as compose's job sets) and add Herald's search attributes through
 * the operator API (the same call Herald's own start-up makes). Resolves once a visibility query on them
 * succeeds: the frontend's namespace cache refreshes every few seconds, so "registered" is not yet "usable".
 */
async function registerNamespace(connection: Connection, namespace: string, deadline: number): Promise<void> {
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const exists = await connection.workflowService.describeNamespace({ namespace }).then(
        () => true,
        (error: { code?: number }) => {
          if (error.code === 5) return false; // NOT_FOUND
          throw error;
        },
      );
      if (!exists) {
        await connection.workflowService.registerNamespace({
          namespace,
          workflowExecutionRetentionPeriod: msToTs('7d'),
        });
      }
      await ensureSearchAttributes(connection, namespace);
      const query = HERALD_SEARCH_ATTRIBUTES.map((key) => `${key.name} = 'probe'`).join(' AND ');
      await connection.workflowService.listWorkflowExecutions({ namespace, query, pageSize: 1 });
      return;
    } catch (error) {
      last = error;
      await sleep(500);
    }
  }
  throw new Error(`namespace ${namespace} was not usable with Herald's search attributes in time: ${String(last)}`);
}

/** This host's first non-loopback IPv4 address (for other hosts to reach its services). */
function firstExternalAddress(): string {
  const found = Object.values(networkInterfaces())
    .flat()
    .find((entry) => entry && entry.family === 'IPv4' && !entry.internal);
  if (!found) throw new Error('bound to every interface, but no external IPv4 address: set TEMPORAL_BROADCAST_ADDRESS');
  return found.address;
}

/** Runs a command to its end, its output line by line to `log`; rejects on a non-zero exit. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv, log?: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    const onData = (chunk: Buffer) =>
      chunk
        .toString('utf8')
        .split('\n')
        .filter((line) => line.trim())
        .forEach((line) => {
          tail.push(line);
          if (tail.length > 30) tail.shift();
          log?.(line);
        });
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${tail.join('\n')}`)),
    );
  });
}

/** Host, port and credentials of a postgres:// URL. */
export function parsePostgresUrl(url: string): { host: string; port: string; user: string; password: string } {
  const parsed = new URL(url);
  if (!/^postgres(ql)?:$/.test(parsed.protocol)) throw new Error(`not a postgres:// URL: ${parsed.protocol}`);
  return {
    host: parsed.hostname,
    port: parsed.port || '5432',
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
  };
}

/**
 * `count` distinct free TCP ports on 127.0.0.1, none in `avoid`, all below 32768: Temporal stores each
 * service's membership port in a SMALLINT column (cluster_membership.rpc_port), so a kernel-chosen port
 * (Linux hands out 32768–60999) makes the server exit with "out of range for type smallint". Held open
 * together while picking, so none repeats.
 */
async function freePorts(count: number, avoid: number[] = []): Promise<number[]> {
  const servers: Server[] = [];
  const ports: number[] = [];
  try {
    for (let tries = 0; ports.length < count; tries++) {
      if (tries > 1000) throw new Error('no free ports found in 20000–32767');
      const port = 20_000 + Math.floor(Math.random() * 12_768);
      if (avoid.includes(port) || ports.includes(port)) continue;
      const server = createServer();
      const listening = await new Promise<boolean>((resolve) => {
        server.once('error', () => resolve(false));
        server.listen(port, '127.0.0.1', () => resolve(true));
      });
      if (!listening) continue;
      servers.push(server);
      ports.push(port);
    }
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
  return ports;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
