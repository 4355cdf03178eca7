/**
 * Sends the Temporal SDK's own logs (worker state, workflow `log` calls) through Herald's pino logger,
 * so a process writes one stream of JSON lines at one configured level; and, when the worker serves
 * metrics, has the SDK's runtime export its own (task slots, pollers, sticky cache, latencies) on a
 * loopback address that the worker's metrics listener reads and serves beside Herald's.
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
let sdkMetricsUrl: string | undefined;

/**
 * Installs the adapter once per process; the Runtime can only be configured before first use, so the
 * first call decides: `sdkMetricsPort` (127.0.0.1) turns the SDK's Prometheus exporter on. Answers where
 * the SDK's metrics are read, or undefined when this process's Runtime does not export them.
 */
export function installRuntimeLogger(logger: Logger, options: { sdkMetricsPort?: number } = {}): string | undefined {
  if (installed) return sdkMetricsUrl;
  installed = true;
  const sdkLogger: SdkLogger = {
    log: (level: LogLevel, message: string, meta?: LogMetadata) => logger[PINO_LEVEL[level]](meta ?? {}, message),
    trace: (message, meta) => logger.trace(meta ?? {}, message),
    debug: (message, meta) => logger.debug(meta ?? {}, message),
    info: (message, meta) => logger.info(meta ?? {}, message),
    warn: (message, meta) => logger.warn(meta ?? {}, message),
    error: (message, meta) => logger.error(meta ?? {}, message),
  };
  const port = options.sdkMetricsPort;
  Runtime.install({
    logger: sdkLogger,
    ...(port === undefined
      ? {}
      : { telemetryOptions: { metrics: { prometheus: { bindAddress: `127.0.0.1:${port}` } } } }),
  });
  sdkMetricsUrl = port === undefined ? undefined : `http://127.0.0.1:${port}/metrics`;
  return sdkMetricsUrl;
}
