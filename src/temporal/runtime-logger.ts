/**
 * Sends the Temporal SDK's own logs (worker state, workflow `log` calls) through Herald's pino logger,
 * so a process writes one stream of JSON lines at one configured level.
 */
import { Runtime, type LogLevel, type LogMetadata, type Logger as SdkLogger } from '@temporalio/worker';
import type { Logger } from 'pino';

const PINO_LEVEL: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

let installed = false;

/** Installs the adapter once per process; the Runtime can only be configured before first use. */
export function installRuntimeLogger(logger: Logger): void {
  if (installed) return;
  installed = true;
  const sdkLogger: SdkLogger = {
    log: (level: LogLevel, message: string, meta?: LogMetadata) => logger[PINO_LEVEL[level]](meta ?? {}, message),
    trace: (message, meta) => logger.trace(meta ?? {}, message),
    debug: (message, meta) => logger.debug(meta ?? {}, message),
    info: (message, meta) => logger.info(meta ?? {}, message),
    warn: (message, meta) => logger.warn(meta ?? {}, message),
    error: (message, meta) => logger.error(meta ?? {}, message),
  };
  Runtime.install({ logger: sdkLogger });
}
