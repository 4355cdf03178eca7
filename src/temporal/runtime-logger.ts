/**
 * Sends the Temporal SDK's own logs (worker state, workflow `log` calls) through Herald's pino logger,
 * so a process writes one stream of JSON lines at one configured level; and, when the worker serves
 * metrics, has the SDK's runtime export its own (task slots, pollers, sticky cache, latencies) on a
 * loopback address that the worker's metrics listener reads and serves beside Herald's.
 */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Runtime, type LogLevel, type LogMetadata, type Logger as SdkLogger } from '@temporalio/worker';
import type { Logger } from 'pino';

const PINO_LEVEL: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * Ports tried for the SDK's exporter. The SDK binds the address it is given and does not report the port
 * of `127.0.0.1:0`, so a free port is chosen first and another process can take it before the SDK binds
 * it; a failed install leaves no Runtime behind, so another port can be tried. Three lost races in a row
 * mean something else is wrong: the worker then runs without the SDK's metrics (and says so) rather
 * than not at all, since they are diagnostics, not its work.
 */
export const SDK_EXPORTER_ATTEMPTS = 3;

export interface RuntimeLoggerOptions {
  /** Turn the SDK's Prometheus exporter on, on a free 127.0.0.1 port. @defaultValue false */
  sdkMetrics?: boolean;
  /** Where each attempt's port comes from. @defaultValue a free port on 127.0.0.1 */
  pickPort?: () => Promise<number>;
}

let installation: Promise<string | undefined> | undefined;

/**
 * Installs the adapter once per process; the Runtime can only be configured before first use, so the
 * first call decides whether the SDK exports metrics. Answers where the SDK's metrics are read, or
 * undefined when this process's Runtime does not export them. Without `sdkMetrics` the Runtime is
 * installed before this returns (no await comes first).
 */
export function installRuntimeLogger(logger: Logger, options: RuntimeLoggerOptions = {}): Promise<string | undefined> {
  installation ??= install(logger, options);
  return installation;
}

async function install(logger: Logger, options: RuntimeLoggerOptions): Promise<string | undefined> {
  const sdkLogger: SdkLogger = {
    log: (level: LogLevel, message: string, meta?: LogMetadata) => logger[PINO_LEVEL[level]](meta ?? {}, message),
    trace: (message, meta) => logger.trace(meta ?? {}, message),
    debug: (message, meta) => logger.debug(meta ?? {}, message),
    info: (message, meta) => logger.info(meta ?? {}, message),
    warn: (message, meta) => logger.warn(meta ?? {}, message),
    error: (message, meta) => logger.error(meta ?? {}, message),
  };
  if (options.sdkMetrics) {
    const pickPort = options.pickPort ?? freeLoopbackPort;
    for (let attempt = 1; attempt <= SDK_EXPORTER_ATTEMPTS; attempt++) {
      const port = await pickPort();
      try {
        Runtime.install({
          logger: sdkLogger,
          telemetryOptions: { metrics: { prometheus: { bindAddress: `127.0.0.1:${port}` } } },
        });
        return `http://127.0.0.1:${port}/metrics`;
      } catch (error) {
        if (!isAddressInUse(error)) throw error;
        logger.warn(
          { port, attempt, of: SDK_EXPORTER_ATTEMPTS },
          `the Temporal SDK's metrics port 127.0.0.1:${port} was taken before the SDK could bind it`,
        );
      }
    }
    logger.error(
      { attempts: SDK_EXPORTER_ATTEMPTS },
      "the Temporal SDK's metrics exporter could not bind a loopback port: the worker runs without the SDK's temporal_* metrics (herald_worker_sdk_metrics_up 0)",
    );
  }
  Runtime.install({ logger: sdkLogger });
  return undefined;
}

/**
 * The SDK's error for a taken address ("Failed to start prometheus metrics exporter: Address already in
 * use (os error 98)"): an Error with no code or type, so its text is all there is to go on (and not
 * `instanceof`: it may come from another realm).
 */
function isAddressInUse(error: unknown): boolean {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' && /address already in use|EADDRINUSE/i.test(message);
}

/** A free TCP port on 127.0.0.1 (for the SDK runtime's exporter, which takes an address, not a socket). */
export async function freeLoopbackPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
