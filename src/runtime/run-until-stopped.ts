/**
 * The life of a Herald process after start-up: it runs until SIGINT or SIGTERM (or until its worker
 * stops by itself on a fatal error), then closes everything it opened, the worker draining first.
 */
import type { Logger } from 'pino';
import { loadConfig, type HeraldConfig } from '../config/config';
import { createLogger } from '../observability/logger';
import type { HeraldResources } from './resources';

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** Waits for a stop signal or the worker's end, closes the resources, and resolves with the exit code. */
export async function runUntilStopped(resources: HeraldResources): Promise<number> {
  const { logger } = resources;
  // After the first signal both handlers go, so a second signal ends the process at once, for an operator
  // who will not wait. (The SDK's Runtime also shuts the worker down on these signals, and removes its
  // own handlers too; shutting down twice is harmless.)
  const signalled = new Promise<{ signal: string }>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      for (const each of STOP_SIGNALS) process.off(each, onSignal);
      resolve({ signal });
    };
    for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  });
  const workerEnded = resources.worker?.stopped.then(
    () => ({ workerEnded: true as const }),
    (error: unknown) => ({ workerFailed: error }),
  );
  const reason = await Promise.race(workerEnded ? [signalled, workerEnded] : [signalled]);
  let exitCode = 0;
  if ('workerFailed' in reason) {
    logger.fatal({ err: reason.workerFailed }, 'worker failed');
    exitCode = 1;
  } else {
    logger.info(reason, 'stopping');
  }
  try {
    await resources.close();
  } catch {
    exitCode = 1; // each failure was logged by close()
  }
  logger.info({ exitCode }, 'stopped');
  return exitCode;
}

/**
 * A process entry's whole life: reads the config, opens what `open` asks for, runs until stopped, and
 * exits with the code (explicitly: the SDK's native runtime keeps threads alive after everything closed).
 */
export function runProcess(
  name: string,
  open: (config: HeraldConfig, logger: Logger) => Promise<HeraldResources>,
): void {
  let config: HeraldConfig;
  try {
    config = loadConfig();
  } catch (error) {
    // An invalid configuration, before there is a logger.
    console.error(`[${name}] ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
  const logger = createLogger(config.logLevel, name);
  open(config, logger)
    .then(runUntilStopped, (error: unknown) => {
      logger.fatal({ err: error }, 'failed to start');
      return 1;
    })
    .then((code) => process.exit(code));
}
