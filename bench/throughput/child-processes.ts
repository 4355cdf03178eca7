/**
 * Every process the benchmark starts, in one registry, so each is stopped however the run ends: at the
 * end, on a failure, on SIGINT/SIGTERM, and (SIGKILL, synchronously) when this process exits. Each runs
 * under scripts/run-while-parent-lives.mjs, which stops it should this process be killed with SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const WRAPPER = join(ROOT, 'scripts', 'run-while-parent-lives.mjs');
const STOP_TIMEOUT_MS = 15_000;

/** A started child: its pid (the wrapper's: CPU is read for the whole tree) and how to stop it. */
export interface BenchChild {
  name: string;
  pid: number;
  running(): boolean;
  /** SIGTERM, SIGKILL after 15 s; resolves once it exited. */
  stop(): Promise<void>;
}

const children = new Set<{ child: ChildProcess; stop: () => Promise<void> }>();

/**
 * Starts `node --import tsx <entry>` from the repository root, its output appended to `logFile`. With
 * BENCH_CPU_PROF_DIR set, each child (and each of its worker threads) writes a V8 CPU profile there when
 * it exits: how the worker's workflow thread was found to spend its time (node refuses `--cpu-prof` in
 * NODE_OPTIONS, so it has to be an argument).
 */
export function startNodeChild(name: string, entry: string, env: NodeJS.ProcessEnv, logFile: string): BenchChild {
  const log = createWriteStream(logFile, { flags: 'a' });
  const profileDir = process.env.BENCH_CPU_PROF_DIR;
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child = spawn(process.execPath, [WRAPPER, process.execPath, ...profile, '--import', 'tsx', join(ROOT, entry)], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const exited = once(child, 'exit').then(() => log.end());
  const running = () => child.exitCode === null && child.signalCode === null;
  const entryInRegistry = {
    child,
    stop: async () => {
      if (running()) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }
      children.delete(entryInRegistry);
    },
  };
  children.add(entryInRegistry);
  return { name, pid: child.pid!, running, stop: entryInRegistry.stop };
}

/** Stops every child still running, in parallel. */
export async function stopAllChildren(): Promise<void> {
  await Promise.all([...children].map((each) => each.stop()));
}

/** Makes SIGINT/SIGTERM run `cleanUp` and exit, and a plain exit SIGKILL whatever is left. */
export function stopChildrenOnExit(cleanUp: () => Promise<void>): void {
  process.once('exit', () => {
    for (const { child } of children) if (child.exitCode === null) child.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping everything the benchmark started…`);
      void cleanUp().finally(() => process.exit(130));
    });
  }
}
