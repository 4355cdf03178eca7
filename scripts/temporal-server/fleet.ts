/**
 * `npm run temporal:fleet`: Temporal on PostgreSQL in the foreground, for Herald processes on this and
 * other hosts to share. Builds the server if needed (scripts/temporal-server/build.sh), creates or
 * upgrades its schemas, starts it, creates the namespace and registers Herald's search attributes, then
 * prints where it is and runs until Ctrl-C or SIGTERM.
 *
 *   npm run temporal:fleet -- [--postgres-url postgres://user:pw@host:5432/postgres] [--port 7233]
 *                             [--host 127.0.0.1] [--namespace default]
 *
 * Without --postgres-url (or TEMPORAL_POSTGRES_URL) it starts a PostgreSQL of its own with
 * scripts/postgres.mjs on port 5433, keeping its data in .data/fleet/postgres, so that Herald's
 * processes can share it too (its URL is printed).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startLocalPostgres } from '../local-postgres';
import { buildTemporalServer, startTemporalServer, type RunningTemporalServer } from './temporal-server';

const ROOT = join(__dirname, '..', '..');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'postgres-url': { type: 'string', default: process.env.TEMPORAL_POSTGRES_URL },
      port: { type: 'string', default: '7233' },
      host: { type: 'string', default: '127.0.0.1' },
      namespace: { type: 'string', default: process.env.TEMPORAL_NAMESPACE || 'default' },
      'postgres-port': { type: 'string', default: '5433' },
    },
  });
  const log = (line: string) => console.log(line);
  const started = Date.now();
  const build = await buildTemporalServer({ log });

  const own = values['postgres-url']
    ? undefined
    : await startLocalPostgres({
        port: Number(values['postgres-port']),
        keepIn: join(ROOT, '.data', 'fleet', 'postgres'),
        detached: true,
        inheritStderr: true,
      });
  const postgresUrl = values['postgres-url'] ?? own!.url;
  let server: RunningTemporalServer | undefined;
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('[temporal:fleet] stopping…');
    await server?.stop();
    await own?.stop();
    process.exit(code);
  };
  // The server and PostgreSQL run in process groups of their own: Ctrl-C reaches only this process,
  // which stops the server first and PostgreSQL last.
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  try {
    server = await startTemporalServer({
      build,
      postgresUrl,
      port: Number(values.port),
      host: values.host,
      namespace: values.namespace,
      logLevel: process.env.LOG_LEVEL || 'warn',
      log,
    });
  } catch (error) {
    console.error(`[temporal:fleet] ${(error as Error).message}`);
    await stop(1);
    return;
  }
  void server.process.once('exit', (code) => {
    if (!stopping) console.error(`[temporal:fleet] the Temporal server exited by itself (${code})`);
    void stop(1);
  });
  const { timings } = server;
  console.log(
    `[temporal:fleet] Temporal ${build.version} on PostgreSQL serves namespace ${server.namespace} at ${server.advertisedAddress} ` +
      `(schemas ${timings.schemaMs} ms, start ${timings.serveMs} ms, namespace and search attributes ${timings.registerMs} ms; ` +
      `${((Date.now() - started) / 1000).toFixed(1)} s in all)`,
  );
  console.log(JSON.stringify({ temporalAddress: server.advertisedAddress, namespace: server.namespace, postgresUrl }));
  console.log('[temporal:fleet] Ctrl-C stops it');
}

void main().catch((error: unknown) => {
  console.error(`[temporal:fleet] ${(error as Error).message}`);
  process.exit(1);
});
