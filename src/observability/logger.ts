/**
 * The process logger (pino, JSON lines). Secrets are redacted by path, so a stray log line cannot leak
 * them; what Herald logs on purpose names things (message id, destination host, API key name), never
 * a body, a header value or a secret (test/observability/logs.test.ts greps a run's logs for them).
 */
import pino, { type DestinationStream, type Logger } from 'pino';

/** A logger at `level`; to stdout unless a destination is given (tests read what Herald logs). */
export function createLogger(level: string, name = 'herald', destination?: DestinationStream): Logger {
  const options = {
    name,
    level,
    redact: [
      '*.authorization',
      '*.clientSecret',
      '*.apiKey',
      'headers.authorization',
      'config.tokenProviders',
      // The SDK logs a failed activity with its failure, whose details are Herald's attempt record: the
      // destination's response excerpt (a body) is in it. Herald's own attempt line has the rest.
      'error.details',
      'err.details',
    ],
  };
  return destination ? pino(options, destination) : pino(options);
}
