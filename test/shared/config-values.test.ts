/** Two config rules added with the review fixes: validated log levels, and plain-number durations. */
import { loadConfig } from '../../src/shared/config';

test('LOG_LEVEL must be a pino level', () => {
  expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrow('LOG_LEVEL: must be one of');
  expect(loadConfig({ LOG_LEVEL: 'warn' }).logLevel).toBe('warn');
});

test('a plain number is a duration in milliseconds, as in messages', () => {
  expect(loadConfig({ HERALD_RETRY_INITIAL_INTERVAL: '1500' }).delivery.defaults.initialIntervalMs).toBe(1500);
  expect(loadConfig({ HERALD_CALLBACK_DEADLINE: '60000' }).delivery.callback.deadlineMs).toBe(60_000);
});
