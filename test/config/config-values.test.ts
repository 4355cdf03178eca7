/** Two config rules added with the review fixes: validated log levels, and plain-number durations. */
import { loadConfig } from '../../src/config/config';

test('LOG_LEVEL must be a pino level', () => {
  expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrow('LOG_LEVEL: must be one of');
  expect(loadConfig({ LOG_LEVEL: 'warn' }).logLevel).toBe('warn');
});

test('a plain number is a duration in milliseconds, as in messages', () => {
  expect(loadConfig({ HERALD_RETRY_INITIAL_INTERVAL: '1500' }).delivery.defaults.initialIntervalMs).toBe(1500);
  expect(loadConfig({ HERALD_CALLBACK_DEADLINE: '60000' }).delivery.callback.deadlineMs).toBe(60_000);
});

test('a default beyond its configured limit is a start-up error, not a refusal of every message', () => {
  expect(() => loadConfig({ HERALD_RETRY_MAXIMUM_ATTEMPTS: '20', HERALD_LIMIT_MAXIMUM_ATTEMPTS: '10' })).toThrow(
    'HERALD_RETRY_MAXIMUM_ATTEMPTS: the default must not exceed HERALD_LIMIT_MAXIMUM_ATTEMPTS',
  );
  expect(() => loadConfig({ HERALD_RETRY_DEADLINE: '40d' })).toThrow(
    'HERALD_RETRY_DEADLINE: the default must not exceed HERALD_LIMIT_DEADLINE',
  );
});
