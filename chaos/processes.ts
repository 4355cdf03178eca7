/**
 * The processes a chaos run starts, kills and restarts: the Temporal dev server (on a file, so it
 * survives restarts), Herald workers and the API, each a real OS process on 127.0.0.1. Every start,
 * graceful stop and kill is logged with its time, so the report can attribute what it finds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { HERALD_SEARCH_ATTRIBUTES } from '../src/contract/search-attributes';

export type ExitKind = 'sigterm' | 'sigkill';

export interface ProcessEvent {
  at: number;
  process: string;
  kind: 'start' | ExitKind | 'exit' | 'crash';
  /** For 'exit': how long after the signal the process was gone. */
  afterMs?: number;
  /** For 'crash': the exit code or signal. */
  code?: number | string;
}

/** One restartable OS process, with its output in a log file. */
export class ManagedProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<unknown> | undefined;
  private readonly log: WriteStream;
  private stopping = false;

  constructor(
    readonly name: string,
    private readonly command: string,
    private readonly args: string[],
    private readonly env: NodeJS.ProcessEnv,
    logDir: string,
    private readonly events: ProcessEvent[],
    private readonly cwd?: string,
  ) {
    this.log = createWriteStream(join(logDir, `${name}.log`), { flags: 'a' });
  }

  /** The OS process id of the current run (undefined before the first start). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    const child = spawn(this.command, this.args, { env: this.env, cwd: this.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(this.log, { end: false });
    child.stderr?.pipe(this.log, { end: false });
    this.child = child;
    this.exited = once(child, 'exit');
    // A process that ends without being asked is news for the report (a worker that gave up at start).
    child.once('exit', (code, signal) => {
      if (!this.stopping)
        this.events.push({ at: Date.now(), process: this.name, kind: 'crash', code: code ?? signal ?? undefined });
    });
    this.events.push({ at: Date.now(), process: this.name, kind: 'start' });
  }

  /** Sends the signal and waits until the process is gone (SIGKILL after `timeoutMs`). */
  async stop(kind: ExitKind, timeoutMs = 90_000): Promise<void> {
    if (!this.running || !this.child) return;
    this.stopping = true;
    const signalledAt = Date.now();
    this.events.push({ at: signalledAt, process: this.name, kind });
    this.child.kill(kind === 'sigterm' ? 'SIGTERM' : 'SIGKILL');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
    this.stopping = false;
    this.events.push({ at: Date.now(), process: this.name, kind: 'exit', afterMs: Date.now() - signalledAt });
  }

  async restart(kind: ExitKind): Promise<void> {
    await this.stop(kind);
    this.start();
  }

  close(): void {
    this.log.end();
  }
}

/** `temporal server start-dev` on a SQLite file with Herald's search attributes. */
export function temporalProcess(
  cliPath: string,
  port: number,
  dbFile: string,
  logDir: string,
  events: ProcessEvent[],
): ManagedProcess {
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--headless',
    '--db-filename',
    dbFile,
    '--log-level',
    'error',
    ...HERALD_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]),
  ];
  return new ManagedProcess('temporal', cliPath, args, process.env, logDir, events);
}

/**
 * A Herald entry point (`src/worker.ts`, `src/api-server.ts`) run by node itself with tsx as a loader: one
 * process, so a kill -9 kills the worker (the `tsx` command would be a parent that leaves its child running).
 */
export function heraldProcess(
  name: string,
  entry: string,
  env: NodeJS.ProcessEnv,
  logDir: string,
  events: ProcessEvent[],
): ManagedProcess {
  const root = join(__dirname, '..');
  return new ManagedProcess(name, process.execPath, ['--import', 'tsx', join(root, entry)], env, logDir, events, root);
}
