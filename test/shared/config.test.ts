/** Configuration: defaults, and every invalid variable reported together. */
import { ConfigError, loadConfig, temporalAddress } from '../../src/shared/config';

test('defaults', () => {
  const config = loadConfig({});
  expect(config.temporal).toEqual({ address: '', namespace: 'default', devServerPort: 7233, uiPort: 8233 });
  expect(temporalAddress(config)).toBe('127.0.0.1:7233');
  expect(config.taskQueue).toBe('herald');
  expect(config.api).toMatchObject({ host: '127.0.0.1', port: 3000, bodyLimitBytes: 1_048_576, keys: [] });
  expect(config.delivery.defaults).toEqual({
    initialIntervalMs: 1000,
    backoffCoefficient: 2,
    maximumIntervalMs: 300_000,
    maximumAttempts: 10,
    jitter: 0.2,
    attemptTimeoutMs: 30_000,
    deadlineMs: 86_400_000,
  });
  expect(config.delivery.deadLetterRetentionMs).toBe(7 * 86_400_000);
  expect(config.delivery.callback).toMatchObject({
    initialIntervalMs: 1000,
    maximumIntervalMs: 600_000,
    maximumAttempts: 20,
    attemptTimeoutMs: 10_000,
    deadlineMs: 86_400_000,
  });
  expect(config.callbackSecrets).toEqual({});
  expect(() => loadConfig({ HERALD_CALLBACK_SECRETS: '{"ops":"plain"}' })).toThrow('HERALD_CALLBACK_SECRETS');
  // The embedded default may call this machine; a configured cluster may not, unless allowed.
  expect(config.destinationAllowlist).toEqual(['localhost', '127.0.0.1', '::1']);
  expect(loadConfig({ TEMPORAL_ADDRESS: 'temporal:7233' }).destinationAllowlist).toEqual([]);
  expect(loadConfig({ HERALD_DESTINATION_ALLOWLIST: 'none' }).destinationAllowlist).toEqual([]);
});

test('values are read and parsed', () => {
  const config = loadConfig({
    TEMPORAL_ADDRESS: 'temporal.internal:7233',
    HERALD_API_KEYS: 'ops:abcdefghijklmnop, ci:0123456789abcdef0123',
    HERALD_RETRY_INITIAL_INTERVAL: '250ms',
    HERALD_RETRY_JITTER: '0.5',
    HERALD_REPLY_SECRETS: '{"*":"whsec_abc"}',
    HERALD_TOKEN_PROVIDERS: '{"api.example.com":{"tokenUrl":"https://auth/x","clientId":"a","clientSecret":"b"}}',
    HERALD_DESTINATION_ALLOWLIST: '10.0.0.0/8, internal.example.com',
  });
  expect(temporalAddress(config)).toBe('temporal.internal:7233');
  expect(config.api.keys).toEqual([
    { name: 'ops', key: 'abcdefghijklmnop' },
    { name: 'ci', key: '0123456789abcdef0123' },
  ]);
  expect(config.delivery.defaults.initialIntervalMs).toBe(250);
  expect(config.delivery.defaults.jitter).toBe(0.5);
  expect(config.replySecrets).toEqual({ '*': 'whsec_abc' });
  expect(config.tokenProviders['api.example.com']?.clientId).toBe('a');
  expect(config.destinationAllowlist).toEqual(['10.0.0.0/8', 'internal.example.com']);
});

test('every invalid variable is reported in one error', () => {
  let error: unknown;
  try {
    loadConfig({
      TEMPORAL_PORT: 'seventy',
      HERALD_RETRY_DEADLINE: 'forever',
      HERALD_RETRY_JITTER: '2',
      HERALD_API_KEYS: 'nokey',
      HERALD_TOKEN_PROVIDERS: '{"api.example.com":{"tokenUrl":"https://auth/x"}}',
      HERALD_REPLY_SECRETS: '{"*":"plain"}',
      HERALD_DESTINATION_ALLOWLIST: '10.0.0.0/99',
      HERALD_LIMIT_DEADLINE: '{',
    });
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ConfigError);
  const problems = (error as ConfigError).problems.join('\n');
  for (const name of [
    'TEMPORAL_PORT',
    'HERALD_RETRY_DEADLINE',
    'HERALD_RETRY_JITTER',
    'HERALD_API_KEYS',
    'HERALD_TOKEN_PROVIDERS: "api.example.com" needs a clientId',
    'HERALD_TOKEN_PROVIDERS: "api.example.com" needs a clientSecret',
    'HERALD_REPLY_SECRETS',
    'HERALD_DESTINATION_ALLOWLIST',
    'HERALD_LIMIT_DEADLINE',
  ]) {
    expect(problems).toContain(name);
  }
  expect(() => loadConfig({ HERALD_TOKEN_PROVIDERS: 'not json' })).toThrow('HERALD_TOKEN_PROVIDERS: not valid JSON');
});
