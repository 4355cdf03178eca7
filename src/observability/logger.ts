/** The process logger (pino, JSON lines). Secrets are redacted by path, so a stray log line cannot leak them. */
import pino, { type Logger } from 'pino';

export function createLogger(level: string, name = 'herald'): Logger {
  return pino({
    name,
    level,
    redact: ['*.authorization', '*.clientSecret', '*.apiKey', 'headers.authorization', 'config.tokenProviders'],
  });
}
