/** Configuration: defaults, parsing, and every invalid variable reported together in one ConfigError. */
import { join, resolve } from 'node:path';
import { ConfigError, loadConfig, storeDescription, temporalAddress, type HeraldConfig } from '../../src/config/config';

const DAY = 86_400_000;

/** The problems of the ConfigError that loading `env` throws (fails the test if it does not throw one). */
function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const configError = error as ConfigError;
    expect(configError.name).toBe('ConfigError');
    // The message lists every problem too, for logs that print only the message.
    for (const problem of configError.problems) expect(configError.message).toContain(problem);
    return configError.problems;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

const ROLES_RULE = "roles are sender, operator, reader (join several with +; a key may not end in ':' and letters)";

/** A Standard Webhooks secret of 24 bytes, distinct per label. */
const whsec = (label: string) => `whsec_${Buffer.from(label.padEnd(24, '.')).toString('base64')}`;

describe('defaults', () => {
  test('an empty environment gives the documented defaults', () => {
    const dataDir = resolve('.data');
    const expected: HeraldConfig = {
      metrics: { port: 9464, host: '127.0.0.1', token: '', maxDestinations: 200 },
      api: {
        host: '127.0.0.1',
        port: 3000,
        bodyLimitBytes: 1_048_576,
        publicUrl: 'http://127.0.0.1:3000',
        keys: [],
        rateLimit: null,
        maxInFlightPerKey: null,
        eventPollIntervalMs: 200,
      },
      replySecrets: {},
      callbackSecrets: {},
      deliverySecrets: {},
      encryption: { keyring: undefined, codecCorsOrigins: ['http://127.0.0.1:8233', 'http://localhost:8233'] },
      destinationAllowlist: ['localhost', '127.0.0.1', '::1'],
      destinationControl: { enabled: true, refreshMs: 1000, operationsWebhook: null },
      redriveRatePerSecond: 50,
      wakeRatePerSecond: 50,
      orderingDeadLetter: 'skip',
      replyWaitMs: 5000,
      admission: {
        enabled: true,
        pollIntervalMs: 500,
        maxBacklogCount: 100,
        maxBacklogAgeMs: 2000,
        maxStartLatencyMs: 300,
        maxStartsInFlight: 32,
        latencyWindowMs: 2000,
        sampleMaxAgeMs: 5000,
        maxRetryAfterMs: 10_000,
      },
      temporal: {
        address: '',
        namespace: 'default',
        devServerPort: 7233,
        uiPort: 8233,
        webUiUrl: 'http://localhost:8233',
      },
      taskQueue: 'herald',
      worker: {
        shutdownGraceMs: 50_000,
        cachedWorkflows: 184,
        cachedWorkflowsFrom: 'HERALD_WORKER_MEMORY_BUDGET',
        memoryBudgetBytes: 512 * 2 ** 20,
      },
      startup: { timeoutMs: 0 },
      dataDir,
      deadLetterDbPath: join(dataDir, 'dead-letters.sqlite'),
      database: { url: '', poolSize: 10 },
      blobs: {
        store: { kind: 'file', directory: join(dataDir, 'blobs') },
        maxBodyBytes: 64 * 2 ** 20,
        inlineBytes: 128 * 1024,
        retentionMs: 7 * DAY,
        pointerTtlMs: 3_600_000,
      },
      retention: { deadLetterRecordsMs: 30 * DAY, eventsMs: 7 * DAY, intervalMs: 3_600_000 },
      logLevel: 'info',
      delivery: {
        defaults: {
          initialIntervalMs: 1000,
          backoffCoefficient: 2,
          maximumIntervalMs: 300_000,
          maximumAttempts: 10,
          jitter: 0.2,
          attemptTimeoutMs: 30_000,
          deadlineMs: DAY,
        },
        limits: {
          maximumAttempts: 100,
          maximumIntervalMs: 3_600_000,
          attemptTimeoutMs: 300_000,
          deadlineMs: 30 * DAY,
          replyTimeoutMs: 30 * DAY,
        },
        maxRetryAfterMs: 3_600_000,
        deadLetterRetentionMs: 7 * DAY,
        responseExcerptBytes: 2048,
        callback: {
          initialIntervalMs: 1000,
          backoffCoefficient: 2,
          maximumIntervalMs: 600_000,
          maximumAttempts: 20,
          jitter: 0.2,
          attemptTimeoutMs: 10_000,
          deadlineMs: DAY,
        },
      },
      tokenProviders: {},
      tracing: { tracesUrl: '', headers: {}, serviceName: undefined },
    };
    expect(loadConfig({})).toEqual(expected);
  });

  test('empty and blank values count as unset', () => {
    const blank = loadConfig({
      TEMPORAL_ADDRESS: '',
      TEMPORAL_PORT: '   ',
      HERALD_API_PORT: '',
      HERALD_RETRY_DEADLINE: ' ',
      HERALD_TOKEN_PROVIDERS: '  ',
      HERALD_REPLY_SECRETS: '',
      HERALD_API_KEYS: '',
      LOG_LEVEL: '',
    });
    expect(blank).toEqual(loadConfig({}));
  });

  test('the embedded dev server (no TEMPORAL_ADDRESS) is at 127.0.0.1 on the dev port', () => {
    expect(temporalAddress(loadConfig({}))).toBe('127.0.0.1:7233');
    expect(temporalAddress(loadConfig({ TEMPORAL_PORT: '17233' }))).toBe('127.0.0.1:17233');
  });

  test('the embedded default may call this machine; a configured cluster may not, unless allowed', () => {
    expect(loadConfig({}).destinationAllowlist).toEqual(['localhost', '127.0.0.1', '::1']);
    expect(loadConfig({ TEMPORAL_ADDRESS: 'temporal:7233' }).destinationAllowlist).toEqual([]);
    expect(loadConfig({ HERALD_DESTINATION_ALLOWLIST: 'none' }).destinationAllowlist).toEqual([]);
    expect(loadConfig({ HERALD_DESTINATION_ALLOWLIST: 'NONE' }).destinationAllowlist).toEqual([]);
    expect(
      loadConfig({ TEMPORAL_ADDRESS: 'temporal:7233', HERALD_DESTINATION_ALLOWLIST: '10.1.2.3' }).destinationAllowlist,
    ).toEqual(['10.1.2.3']);
  });

  test('the dead-letter database lives in the data directory unless set', () => {
    const config = loadConfig({ HERALD_DATA_DIR: '/var/lib/herald' });
    expect(config.dataDir).toBe('/var/lib/herald');
    expect(config.deadLetterDbPath).toBe('/var/lib/herald/dead-letters.sqlite');
    expect(loadConfig({ HERALD_DEAD_LETTER_DB: '/srv/dl.sqlite' }).deadLetterDbPath).toBe('/srv/dl.sqlite');
    expect(loadConfig({ HERALD_DATA_DIR: 'rel/dir' }).dataDir).toBe(resolve('rel/dir'));
  });
});

describe('values are read and parsed', () => {
  test('every variable', () => {
    const config = loadConfig({
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_NAMESPACE: 'herald-prod',
      TEMPORAL_PORT: '17233',
      TEMPORAL_UI_PORT: '18233',
      HERALD_TASK_QUEUE: 'herald-eu',
      HERALD_WORKER_SHUTDOWN_GRACE: '90s',
      LOG_LEVEL: 'debug',
      HERALD_API_HOST: '0.0.0.0',
      HERALD_API_PORT: '8080',
      HERALD_BODY_LIMIT_BYTES: '65536',
      HERALD_PUBLIC_URL: 'https://herald.example.com',
      HERALD_EVENT_POLL_INTERVAL: '1s',
      HERALD_API_KEYS: 'ops:abcdefghijklmnop, ci:0123456789abcdef0123',
      HERALD_TEMPORAL_UI_URL: 'https://temporal.example.com/',
      HERALD_REPLY_SECRETS: JSON.stringify({ '*': whsec('abc'), 'api.example.com': whsec('def') }),
      HERALD_CALLBACK_SECRETS: JSON.stringify({ ops: whsec('cb') }),
      HERALD_DESTINATION_ALLOWLIST: '10.0.0.0/8, internal.example.com',
      HERALD_REDRIVE_RATE: '5',
      HERALD_ORDERING_DEAD_LETTER: 'block',
      HERALD_RETRY_INITIAL_INTERVAL: '250ms',
      HERALD_RETRY_BACKOFF_COEFFICIENT: '1.5',
      HERALD_RETRY_MAXIMUM_INTERVAL: '2m',
      HERALD_RETRY_MAXIMUM_ATTEMPTS: '7',
      HERALD_RETRY_JITTER: '0.5',
      HERALD_RETRY_ATTEMPT_TIMEOUT: '10s',
      HERALD_RETRY_DEADLINE: '12h',
      HERALD_LIMIT_MAXIMUM_ATTEMPTS: '50',
      HERALD_LIMIT_MAXIMUM_INTERVAL: '30m',
      HERALD_LIMIT_ATTEMPT_TIMEOUT: '1m',
      HERALD_LIMIT_DEADLINE: '7d',
      HERALD_LIMIT_REPLY_TIMEOUT: '2d',
      HERALD_MAX_RETRY_AFTER: '15m',
      HERALD_DEAD_LETTER_RETENTION: '14d',
      HERALD_RESPONSE_EXCERPT_BYTES: '0',
      HERALD_CALLBACK_INITIAL_INTERVAL: '2s',
      HERALD_CALLBACK_MAXIMUM_INTERVAL: '1m',
      HERALD_CALLBACK_MAXIMUM_ATTEMPTS: '3',
      HERALD_CALLBACK_ATTEMPT_TIMEOUT: '5s',
      HERALD_CALLBACK_DEADLINE: '1h',
      HERALD_TOKEN_PROVIDERS:
        '{"api.example.com":{"tokenUrl":"https://auth/x","clientId":"a","clientSecret":"b","scope":"s","audience":"u"}}',
    });
    expect(config.temporal).toEqual({
      address: 'temporal.internal:7233',
      namespace: 'herald-prod',
      devServerPort: 17233,
      uiPort: 18233,
      webUiUrl: 'https://temporal.example.com',
    });
    expect(temporalAddress(config)).toBe('temporal.internal:7233');
    expect(config.taskQueue).toBe('herald-eu');
    expect(config.worker).toMatchObject({ shutdownGraceMs: 90_000 });
    expect(config.logLevel).toBe('debug');
    expect(config.api).toEqual({
      host: '0.0.0.0',
      port: 8080,
      bodyLimitBytes: 65_536,
      publicUrl: 'https://herald.example.com',
      keys: [
        { name: 'ops', key: 'abcdefghijklmnop', roles: 'unscoped' },
        { name: 'ci', key: '0123456789abcdef0123', roles: 'unscoped' },
      ],
      rateLimit: null,
      maxInFlightPerKey: null,
      eventPollIntervalMs: 1000,
    });
    expect(config.replySecrets).toEqual({ '*': [whsec('abc')], 'api.example.com': [whsec('def')] });
    expect(config.callbackSecrets).toEqual({ ops: [whsec('cb')] });
    expect(config.destinationAllowlist).toEqual(['10.0.0.0/8', 'internal.example.com']);
    expect(config.redriveRatePerSecond).toBe(5);
    expect(config.orderingDeadLetter).toBe('block');
    expect(config.delivery).toEqual({
      defaults: {
        initialIntervalMs: 250,
        backoffCoefficient: 1.5,
        maximumIntervalMs: 120_000,
        maximumAttempts: 7,
        jitter: 0.5,
        attemptTimeoutMs: 10_000,
        deadlineMs: 12 * 3_600_000,
      },
      limits: {
        maximumAttempts: 50,
        maximumIntervalMs: 1_800_000,
        attemptTimeoutMs: 60_000,
        deadlineMs: 7 * DAY,
        replyTimeoutMs: 2 * DAY,
      },
      maxRetryAfterMs: 900_000,
      deadLetterRetentionMs: 14 * DAY,
      responseExcerptBytes: 0,
      callback: {
        initialIntervalMs: 2000,
        backoffCoefficient: 2,
        maximumIntervalMs: 60_000,
        maximumAttempts: 3,
        jitter: 0.2,
        attemptTimeoutMs: 5000,
        deadlineMs: 3_600_000,
      },
    });
    expect(config.tokenProviders).toEqual({
      'api.example.com': { tokenUrl: 'https://auth/x', clientId: 'a', clientSecret: 'b', scope: 's', audience: 'u' },
    });
  });

  test('values are trimmed', () => {
    const config = loadConfig({ HERALD_TASK_QUEUE: '  q  ', HERALD_API_PORT: ' 8080 ', HERALD_RETRY_DEADLINE: ' 2h ' });
    expect(config.taskQueue).toBe('q');
    expect(config.api.port).toBe(8080);
    expect(config.delivery.defaults.deadlineMs).toBe(7_200_000);
  });

  test('API keys: a key may contain colons; blank entries are skipped', () => {
    expect(loadConfig({ HERALD_API_KEYS: 'ops:abc:defghijklmnop1,,  ,' }).api.keys).toEqual([
      { name: 'ops', key: 'abc:defghijklmnop1', roles: 'unscoped' },
    ]);
  });

  test('API keys: a key ending in ":" and letters only reads as a role field now, so it is refused by name', () => {
    // The one entry of the old format that changes meaning: it fails at start, never silently.
    expect(problemsOf({ HERALD_API_KEYS: 'ops:abc:defghijklmnopq' })).toEqual([
      `HERALD_API_KEYS: key "ops" has role "defghijklmnopq"; ${ROLES_RULE}`,
    ]);
  });

  test('API keys: a role field after the key, several joined with +', () => {
    expect(
      loadConfig({
        HERALD_API_KEYS:
          'shop:shop-key-0123456789:sender,ops:ops-key-0123456789:operator,audit:audit-key-0123456789:reader+sender,old:old-key-0123456789',
      }).api.keys,
    ).toEqual([
      { name: 'shop', key: 'shop-key-0123456789', roles: ['sender'] },
      { name: 'ops', key: 'ops-key-0123456789', roles: ['operator'] },
      { name: 'audit', key: 'audit-key-0123456789', roles: ['sender', 'reader'] },
      { name: 'old', key: 'old-key-0123456789', roles: 'unscoped' },
    ]);
  });

  test('API keys: a misspelt, capitalised or empty role is refused, never read as part of an unscoped key', () => {
    for (const [entry, role] of [
      ['ops:ops-key-0123456789:operater', 'operater'],
      ['ops:ops-key-0123456789:Operator', 'Operator'],
      ['ops:ops-key-0123456789:', ''],
      ['ops:ops-key-0123456789:sender+', 'sender+'],
    ]) {
      expect(problemsOf({ HERALD_API_KEYS: entry })).toEqual([
        `HERALD_API_KEYS: key "ops" has role "${role}"; ${ROLES_RULE}`,
      ]);
    }
  });

  test('API keys: one key under two names, or the name herald-operations, is refused; roles compare as sets', () => {
    expect(problemsOf({ HERALD_API_KEYS: 'a:same-key-0123456789,b:same-key-0123456789' })).toEqual([
      'HERALD_API_KEYS: the key of "b" is listed twice; each key belongs to one name',
    ]);
    expect(problemsOf({ HERALD_API_KEYS: 'herald-operations:ops-key-0123456789' })).toEqual([
      `HERALD_API_KEYS: the name "herald-operations" is Herald's own (its operational webhooks)`,
    ]);
    expect(
      loadConfig({ HERALD_API_KEYS: 'x:old-key-0123456789:sender+reader,x:new-key-0123456789:reader+sender' }).api.keys,
    ).toEqual([
      { name: 'x', key: 'old-key-0123456789', roles: ['sender', 'reader'] },
      { name: 'x', key: 'new-key-0123456789', roles: ['sender', 'reader'] },
    ]);
  });

  test('API keys: two keys may share a name (a rotation) only with the same roles; names hold no quotes', () => {
    expect(
      loadConfig({ HERALD_API_KEYS: 'shop:old-key-0123456789:sender,shop:new-key-0123456789:sender' }).api.keys,
    ).toHaveLength(2);
    expect(problemsOf({ HERALD_API_KEYS: 'shop:old-key-0123456789:sender,shop:new-key-0123456789:operator' })).toEqual([
      'HERALD_API_KEYS: the keys named "shop" must have the same roles',
    ]);
    expect(problemsOf({ HERALD_API_KEYS: "o'k:old-key-0123456789" })).toEqual([
      `HERALD_API_KEYS: the name "o'k" may not hold quotes, backslashes or spaces`,
    ]);
  });

  test('secrets: several per key, space-separated or as an array (a rotation)', () => {
    const config = loadConfig({
      HERALD_DELIVERY_SECRETS: JSON.stringify({
        '*': `${whsec('new1')} ${whsec('old1')}`,
        'api.example.com': [whsec('a'), whsec('b')],
      }),
    });
    expect(config.deliverySecrets).toEqual({
      '*': [whsec('new1'), whsec('old1')],
      'api.example.com': [whsec('a'), whsec('b')],
    });
  });

  test('the operational webhooks secret may be several too', () => {
    const config = loadConfig({
      HERALD_OPERATIONS_WEBHOOK_URL: 'https://ops.example.com/hook',
      HERALD_OPERATIONS_WEBHOOK_SECRET: `${whsec('ops-new')} ${whsec('ops-old')}`,
    });
    expect(config.destinationControl.operationsWebhook).toEqual({
      url: 'https://ops.example.com/hook',
      secrets: [whsec('ops-new'), whsec('ops-old')],
    });
  });

  test('HERALD_TEMPORAL_UI_URL: an http(s) URL; the embedded default links its own UI, elsewhere nothing', () => {
    expect(loadConfig({}).temporal.webUiUrl).toBe('http://localhost:8233');
    expect(loadConfig({ TEMPORAL_ADDRESS: 'temporal:7233' }).temporal.webUiUrl).toBe('');
    expect(problemsOf({ HERALD_TEMPORAL_UI_URL: 'temporal.example.com' })).toEqual([
      'HERALD_TEMPORAL_UI_URL: must be an http(s) URL (the Temporal Web UI as a browser reaches it)',
    ]);
  });

  test('limits per key: HERALD_RATE_LIMIT is requests/window, HERALD_MAX_IN_FLIGHT_PER_KEY a count', () => {
    const config = loadConfig({ HERALD_RATE_LIMIT: '100/1s', HERALD_MAX_IN_FLIGHT_PER_KEY: '500' });
    expect(config.api.rateLimit).toEqual({ max: 100, windowMs: 1000 });
    expect(config.api.maxInFlightPerKey).toBe(500);
    expect(loadConfig({ HERALD_RATE_LIMIT: '6000 / 1m' }).api.rateLimit).toEqual({ max: 6000, windowMs: 60_000 });
    expect(problemsOf({ HERALD_RATE_LIMIT: '100/10ms', HERALD_MAX_IN_FLIGHT_PER_KEY: '0' })).toEqual([
      'HERALD_RATE_LIMIT: must be off or requests/window with a window of 1s or more, such as 100/1s or 6000/1m; got "100/10ms"',
      'HERALD_MAX_IN_FLIGHT_PER_KEY: must be off or a whole number of at least 1; got "0"',
    ]);
  });

  test('range edges are accepted', () => {
    const config = loadConfig({
      HERALD_API_PORT: '0',
      TEMPORAL_PORT: '65535',
      HERALD_RETRY_JITTER: '0',
      HERALD_RETRY_BACKOFF_COEFFICIENT: '1',
      HERALD_RETRY_MAXIMUM_ATTEMPTS: '1',
      HERALD_BODY_LIMIT_BYTES: '1024',
    });
    expect(config.api.port).toBe(0);
    expect(config.temporal.devServerPort).toBe(65_535);
    expect(config.delivery.defaults).toMatchObject({ jitter: 0, backoffCoefficient: 1, maximumAttempts: 1 });
    expect(config.api.bodyLimitBytes).toBe(1024);
    expect(loadConfig({ HERALD_RETRY_JITTER: '1' }).delivery.defaults.jitter).toBe(1);
  });
});

describe('invalid values', () => {
  test('every invalid variable is reported together in one ConfigError', () => {
    const problems = problemsOf({
      TEMPORAL_PORT: 'seventy',
      TEMPORAL_UI_PORT: '70000',
      HERALD_API_PORT: '-1',
      HERALD_BODY_LIMIT_BYTES: '2000000',
      HERALD_REDRIVE_RATE: '0',
      HERALD_ORDERING_DEAD_LETTER: 'drop',
      HERALD_RETRY_INITIAL_INTERVAL: '5 seconds',
      HERALD_RETRY_BACKOFF_COEFFICIENT: '0.5',
      HERALD_RETRY_MAXIMUM_INTERVAL: '5 minutes',
      HERALD_RETRY_MAXIMUM_ATTEMPTS: '2.5',
      HERALD_RETRY_JITTER: '2',
      HERALD_RETRY_ATTEMPT_TIMEOUT: '1h30m',
      HERALD_RETRY_DEADLINE: 'forever',
      HERALD_LIMIT_MAXIMUM_ATTEMPTS: 'many',
      HERALD_LIMIT_MAXIMUM_INTERVAL: '-1s',
      HERALD_LIMIT_ATTEMPT_TIMEOUT: 'x',
      HERALD_LIMIT_DEADLINE: '{',
      HERALD_LIMIT_REPLY_TIMEOUT: '1w',
      HERALD_MAX_RETRY_AFTER: 'an hour',
      HERALD_DEAD_LETTER_RETENTION: '7 days',
      HERALD_RESPONSE_EXCERPT_BYTES: '100000',
      HERALD_CALLBACK_INITIAL_INTERVAL: 'now',
      HERALD_CALLBACK_MAXIMUM_INTERVAL: '?',
      HERALD_CALLBACK_MAXIMUM_ATTEMPTS: '0',
      HERALD_CALLBACK_ATTEMPT_TIMEOUT: 'ten seconds',
      HERALD_CALLBACK_DEADLINE: '1 day',
      HERALD_API_KEYS: 'nokey',
      HERALD_TOKEN_PROVIDERS: '{"api.example.com":{"tokenUrl":"https://auth/x"}}',
      HERALD_REPLY_SECRETS: '{"*":"plain"}',
      HERALD_CALLBACK_SECRETS: '{"ops":"plain"}',
      HERALD_DESTINATION_ALLOWLIST: '10.0.0.0/99',
      HERALD_WORKER_SHUTDOWN_GRACE: 'until done',
    });
    const named = (name: string) => problems.filter((p) => p.startsWith(`${name}:`));
    for (const name of [
      'TEMPORAL_PORT',
      'TEMPORAL_UI_PORT',
      'HERALD_API_PORT',
      'HERALD_BODY_LIMIT_BYTES',
      'HERALD_REDRIVE_RATE',
      'HERALD_ORDERING_DEAD_LETTER',
      'HERALD_RETRY_INITIAL_INTERVAL',
      'HERALD_RETRY_BACKOFF_COEFFICIENT',
      'HERALD_RETRY_MAXIMUM_INTERVAL',
      'HERALD_RETRY_MAXIMUM_ATTEMPTS',
      'HERALD_RETRY_JITTER',
      'HERALD_RETRY_ATTEMPT_TIMEOUT',
      'HERALD_RETRY_DEADLINE',
      'HERALD_LIMIT_MAXIMUM_ATTEMPTS',
      'HERALD_LIMIT_MAXIMUM_INTERVAL',
      'HERALD_LIMIT_ATTEMPT_TIMEOUT',
      'HERALD_LIMIT_DEADLINE',
      'HERALD_LIMIT_REPLY_TIMEOUT',
      'HERALD_MAX_RETRY_AFTER',
      'HERALD_DEAD_LETTER_RETENTION',
      'HERALD_RESPONSE_EXCERPT_BYTES',
      'HERALD_CALLBACK_INITIAL_INTERVAL',
      'HERALD_CALLBACK_MAXIMUM_INTERVAL',
      'HERALD_CALLBACK_MAXIMUM_ATTEMPTS',
      'HERALD_CALLBACK_ATTEMPT_TIMEOUT',
      'HERALD_CALLBACK_DEADLINE',
      'HERALD_API_KEYS',
      'HERALD_REPLY_SECRETS',
      'HERALD_CALLBACK_SECRETS',
      'HERALD_DESTINATION_ALLOWLIST',
      'HERALD_WORKER_SHUTDOWN_GRACE',
    ]) {
      expect({ name, problems: named(name) }).toEqual({ name, problems: [expect.any(String)] });
    }
    expect(named('HERALD_TOKEN_PROVIDERS')).toEqual([
      'HERALD_TOKEN_PROVIDERS: "api.example.com" needs a clientId',
      'HERALD_TOKEN_PROVIDERS: "api.example.com" needs a clientSecret',
    ]);
    expect(problems).toHaveLength(31 + 2);
  });

  test('problems say what was wrong and what is expected', () => {
    expect(problemsOf({ TEMPORAL_PORT: 'seventy' })).toEqual([
      'TEMPORAL_PORT: must be an integer from 1 to 65535, got "seventy"',
    ]);
    expect(problemsOf({ HERALD_RETRY_JITTER: '2' })).toEqual([
      'HERALD_RETRY_JITTER: must be a number from 0 to 1, got "2"',
    ]);
    // Only the variable that is wrong is blamed (not the attempt timeout it is compared with).
    expect(problemsOf({ HERALD_RETRY_DEADLINE: 'forever' })).toEqual([
      'HERALD_RETRY_DEADLINE: not a duration (use e.g. 500ms, 30s, 5m, 2h, 7d)',
    ]);
    expect(problemsOf({ HERALD_RETRY_ATTEMPT_TIMEOUT: '5 minutes' })).toEqual([
      'HERALD_RETRY_ATTEMPT_TIMEOUT: not a duration (use e.g. 500ms, 30s, 5m, 2h, 7d)',
    ]);
  });

  test.each([
    ['TEMPORAL_PORT', '0'],
    ['TEMPORAL_PORT', '65536'],
    ['TEMPORAL_PORT', '7233.5'],
    ['TEMPORAL_PORT', 'Infinity'],
    ['HERALD_API_PORT', '65536'],
    ['HERALD_BODY_LIMIT_BYTES', '1023'],
    ['HERALD_RETRY_JITTER', '-0.1'],
    ['HERALD_RETRY_JITTER', '1.01'],
    ['HERALD_RETRY_JITTER', 'NaN'],
    ['HERALD_RETRY_BACKOFF_COEFFICIENT', '101'],
    ['HERALD_RETRY_MAXIMUM_ATTEMPTS', '10001'],
    ['HERALD_REDRIVE_RATE', '10001'],
    ['HERALD_RESPONSE_EXCERPT_BYTES', '-1'],
    ['HERALD_EVENT_POLL_INTERVAL', '5ms'],
    ['HERALD_EVENT_POLL_INTERVAL', '2m'],
  ])('%s=%p is out of range', (name, value) => {
    // (A value beyond its limit may also be reported as a default beyond the limit.)
    expect(problemsOf({ [name]: value })[0]).toEqual(expect.stringContaining(`${name}: must be`));
  });

  test('an attempt timeout longer than the deadline is refused', () => {
    expect(problemsOf({ HERALD_RETRY_ATTEMPT_TIMEOUT: '4m', HERALD_RETRY_DEADLINE: '3m' })).toEqual([
      'HERALD_RETRY_ATTEMPT_TIMEOUT: must not exceed HERALD_RETRY_DEADLINE',
    ]);
    expect(problemsOf({ HERALD_RETRY_DEADLINE: '0s' })).toEqual([
      'HERALD_RETRY_ATTEMPT_TIMEOUT: must not exceed HERALD_RETRY_DEADLINE',
    ]);
    expect(
      loadConfig({ HERALD_RETRY_ATTEMPT_TIMEOUT: '5m', HERALD_RETRY_DEADLINE: '5m' }).delivery.defaults,
    ).toMatchObject({ attemptTimeoutMs: 300_000, deadlineMs: 300_000 });
  });

  test.each([
    ['no colon', 'nokey'],
    ['no name', ':abcdefghijklmnop'],
    ['a key under 16 characters', 'ops:abcdefghijklmno'],
    ['one bad entry among good ones', 'ops:abcdefghijklmnop,ci:short'],
  ])('API keys with %s are refused', (_label, value) => {
    expect(problemsOf({ HERALD_API_KEYS: value })).toEqual([
      'HERALD_API_KEYS: each entry must be name:key or name:key:role, with a key of at least 16 characters',
    ]);
  });

  test.each(['HERALD_REPLY_SECRETS', 'HERALD_CALLBACK_SECRETS', 'HERALD_DELIVERY_SECRETS'])(
    '%s: secrets must be whsec_… strings',
    (name) => {
      const must =
        'must be a whsec_… secret (base64 of 24 bytes or more after the prefix), or several (space-separated, or a JSON array)';
      // Checked strictly: a lenient decode would make a short or empty HMAC key of each of these.
      const given = {
        a: whsec('fine'),
        b: 'plain',
        c: 5,
        d: [whsec('fine'), ''],
        e: [],
        f: 'whsec_',
        g: 'whsec_c2hvcnQ=',
        h: `whsec_${'!'.repeat(40)}`,
        i: [`${whsec('one')} ${whsec('two')}`],
      };
      expect(problemsOf({ [name]: JSON.stringify(given) })).toEqual(
        ['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'].map((key) => `${name}: the secret for "${key}" ${must}`),
      );
      expect(problemsOf({ [name]: '{not json' })).toEqual([`${name}: not valid JSON`]);
    },
  );

  test('an allowlist entry that is not a host, IP or CIDR is refused', () => {
    expect(problemsOf({ HERALD_DESTINATION_ALLOWLIST: '10.0.0.0/8, 10.0.0.0/99' })).toEqual([
      'HERALD_DESTINATION_ALLOWLIST: not a list of hosts, IP addresses and CIDRs',
    ]);
  });
});

describe('HERALD_TOKEN_PROVIDERS', () => {
  test('JSON that does not parse', () => {
    expect(problemsOf({ HERALD_TOKEN_PROVIDERS: 'not json' })).toEqual(['HERALD_TOKEN_PROVIDERS: not valid JSON']);
    expect(problemsOf({ HERALD_TOKEN_PROVIDERS: '{"api.example.com":{"tokenUrl":' })).toEqual([
      'HERALD_TOKEN_PROVIDERS: not valid JSON',
    ]);
  });

  test.each(['null', '[]', '[{"tokenUrl":"x"}]', '"api.example.com"', '42', 'true'])(
    'JSON that is not an object (%s) is a problem, not a crash',
    (value) => {
      expect(problemsOf({ HERALD_TOKEN_PROVIDERS: value, TEMPORAL_PORT: 'x' })).toEqual([
        'HERALD_TOKEN_PROVIDERS: must be a JSON object',
        expect.stringContaining('TEMPORAL_PORT'),
      ]);
    },
  );

  test('each missing field is named, per host', () => {
    expect(
      problemsOf({
        HERALD_TOKEN_PROVIDERS: JSON.stringify({
          'a.example.com': {},
          'b.example.com': { tokenUrl: 'https://auth/b', clientId: 'b' },
        }),
      }),
    ).toEqual([
      'HERALD_TOKEN_PROVIDERS: "a.example.com" needs a tokenUrl',
      'HERALD_TOKEN_PROVIDERS: "a.example.com" needs a clientId',
      'HERALD_TOKEN_PROVIDERS: "a.example.com" needs a clientSecret',
      'HERALD_TOKEN_PROVIDERS: "b.example.com" needs a clientSecret',
    ]);
  });

  test('empty or non-string fields count as missing; a provider that is not an object has every field missing', () => {
    expect(
      problemsOf({
        HERALD_TOKEN_PROVIDERS: JSON.stringify({
          'a.example.com': { tokenUrl: '', clientId: 7, clientSecret: 's' },
          'b.example.com': null,
        }),
      }),
    ).toEqual([
      'HERALD_TOKEN_PROVIDERS: "a.example.com" needs a tokenUrl',
      'HERALD_TOKEN_PROVIDERS: "a.example.com" needs a clientId',
      'HERALD_TOKEN_PROVIDERS: "b.example.com" needs a tokenUrl',
      'HERALD_TOKEN_PROVIDERS: "b.example.com" needs a clientId',
      'HERALD_TOKEN_PROVIDERS: "b.example.com" needs a clientSecret',
    ]);
  });

  test('several hosts, with host:port keys and optional scope and audience', () => {
    const providers = {
      'api.example.com': { tokenUrl: 'https://auth/a', clientId: 'a', clientSecret: 'sa' },
      'api.example.com:8443': {
        tokenUrl: 'https://auth/b',
        clientId: 'b',
        clientSecret: 'sb',
        scope: 'events:write',
        audience: 'https://api',
      },
    };
    expect(loadConfig({ HERALD_TOKEN_PROVIDERS: JSON.stringify(providers) }).tokenProviders).toEqual(providers);
  });
});

describe('the other JSON variables must be objects too', () => {
  test.each(['HERALD_REPLY_SECRETS', 'HERALD_CALLBACK_SECRETS'])('%s', (name) => {
    for (const value of ['null', '[]', '"whsec_x"', '1']) {
      expect(problemsOf({ [name]: value })).toEqual([`${name}: must be a JSON object`]);
    }
  });
});

describe('the database and retention', () => {
  test('HERALD_DATABASE_URL takes postgres:// and postgresql:// URLs; empty keeps SQLite', () => {
    expect(loadConfig({}).database).toEqual({ url: '', poolSize: 10 });
    const url = 'postgres://herald:secret@db.internal:5432/herald';
    expect(loadConfig({ HERALD_DATABASE_URL: url, HERALD_DATABASE_POOL_SIZE: '25' }).database).toEqual({
      url,
      poolSize: 25,
    });
    expect(loadConfig({ HERALD_DATABASE_URL: 'postgresql://db/herald' }).database.url).toBe('postgresql://db/herald');
  });

  test('a URL that is not PostgreSQL, or a pool size out of range, is refused without echoing the password', () => {
    const problems = problemsOf({
      HERALD_DATABASE_URL: 'mysql://root:hunter2@db/herald',
      HERALD_DATABASE_POOL_SIZE: '0',
    });
    expect(problems).toEqual([
      'HERALD_DATABASE_URL: must be a postgres:// or postgresql:// URL, or empty for SQLite',
      'HERALD_DATABASE_POOL_SIZE: must be an integer from 1 to 1000, got "0"',
    ]);
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  test('retention periods are durations; 0 keeps everything, but the interval must be above 0', () => {
    expect(
      loadConfig({
        HERALD_DEAD_LETTER_RECORD_RETENTION: '90d',
        HERALD_EVENT_RETENTION: '0',
        HERALD_RETENTION_INTERVAL: '10m',
      }).retention,
    ).toEqual({ deadLetterRecordsMs: 90 * DAY, eventsMs: 0, intervalMs: 600_000 });
    expect(problemsOf({ HERALD_EVENT_RETENTION: 'a week', HERALD_RETENTION_INTERVAL: '0' })).toEqual([
      'HERALD_EVENT_RETENTION: not a duration (use e.g. 500ms, 30s, 5m, 2h, 7d)',
      'HERALD_RETENTION_INTERVAL: must be above 0',
    ]);
  });

  test('the store is described for logs without the password', () => {
    expect(storeDescription(loadConfig({ HERALD_DEAD_LETTER_DB: '/srv/dl.sqlite' }))).toBe('/srv/dl.sqlite');
    expect(storeDescription(loadConfig({ HERALD_DATABASE_URL: 'postgres://herald:secret@db:5432/herald' }))).toBe(
      'PostgreSQL db:5432/herald',
    );
  });
});

describe('large bodies (HERALD_BLOB_STORE, HERALD_MAX_BODY_BYTES, …)', () => {
  test('the blob store is PostgreSQL with a database, a directory without one, or what HERALD_BLOB_STORE says', () => {
    expect(loadConfig({ HERALD_DATA_DIR: '/srv/herald' }).blobs.store).toEqual({
      kind: 'file',
      directory: '/srv/herald/blobs',
    });
    expect(loadConfig({ HERALD_DATABASE_URL: 'postgres://db/herald' }).blobs.store).toEqual({ kind: 'postgres' });
    expect(loadConfig({ HERALD_BLOB_STORE: 'file:///mnt/blobs' }).blobs.store).toEqual({
      kind: 'file',
      directory: '/mnt/blobs',
    });
    expect(problemsOf({ HERALD_BLOB_STORE: 'postgres' })).toEqual([
      'HERALD_BLOB_STORE: postgres needs HERALD_DATABASE_URL',
    ]);
  });

  test('sizes take units; the pointer lives a while', () => {
    const { blobs } = loadConfig({
      HERALD_MAX_BODY_BYTES: '1GiB',
      HERALD_INLINE_BODY_BYTES: '64KiB',
      HERALD_BLOB_RETENTION: '1d',
      HERALD_BLOB_POINTER_TTL: '10m',
    });
    expect(blobs).toMatchObject({
      maxBodyBytes: 2 ** 30,
      inlineBytes: 65_536,
      retentionMs: DAY,
      pointerTtlMs: 600_000,
    });
    expect(
      problemsOf({ HERALD_MAX_BODY_BYTES: 'big', HERALD_INLINE_BODY_BYTES: '2MiB', HERALD_BLOB_POINTER_TTL: '0' }),
    ).toEqual([
      'HERALD_MAX_BODY_BYTES: must be a size from 1024 bytes to 1099511627776 bytes, such as 64MiB or 128KiB; got "big"',
      'HERALD_INLINE_BODY_BYTES: must be a size from 1024 bytes to 1048576 bytes, such as 64MiB or 128KiB; got "2MiB"',
      'HERALD_BLOB_POINTER_TTL: must be above 0',
    ]);
    // An upload cut at a limit below the threshold would pass for a whole inline body.
    expect(problemsOf({ HERALD_MAX_BODY_BYTES: '64KiB' })).toEqual([
      'HERALD_MAX_BODY_BYTES: must not be below HERALD_INLINE_BODY_BYTES',
    ]);
  });

  test('HERALD_PUBLIC_URL: the API as callbacks point at it, by default its own address', () => {
    expect(loadConfig({ HERALD_API_PORT: '3100' }).api.publicUrl).toBe('http://127.0.0.1:3100');
    // Listening on every address is no address to point at: this machine's loopback is.
    expect(loadConfig({ HERALD_API_HOST: '0.0.0.0' }).api.publicUrl).toBe('http://127.0.0.1:3000');
    expect(loadConfig({ HERALD_PUBLIC_URL: 'https://herald.example.com/' }).api.publicUrl).toBe(
      'https://herald.example.com',
    );
    expect(problemsOf({ HERALD_PUBLIC_URL: 'herald.example.com' })).toEqual([
      'HERALD_PUBLIC_URL: must be an http:// or https:// URL, got "herald.example.com"',
    ]);
  });
});

describe('admission control (HERALD_ADMISSION_*)', () => {
  test('every variable is read, and HERALD_ADMISSION=off switches it off', () => {
    const config = loadConfig({
      HERALD_ADMISSION: 'off',
      HERALD_ADMISSION_POLL_INTERVAL: '250ms',
      HERALD_ADMISSION_MAX_BACKLOG: '50',
      HERALD_ADMISSION_MAX_BACKLOG_AGE: '3s',
      HERALD_ADMISSION_MAX_START_LATENCY: '80ms',
      HERALD_ADMISSION_MAX_STARTS_IN_FLIGHT: '8',
      HERALD_ADMISSION_MAX_RETRY_AFTER: '30s',
    });
    expect(config.admission).toEqual({
      enabled: false,
      pollIntervalMs: 250,
      maxBacklogCount: 50,
      maxBacklogAgeMs: 3000,
      maxStartLatencyMs: 80,
      maxStartsInFlight: 8,
      latencyWindowMs: 2000,
      sampleMaxAgeMs: 5000,
      maxRetryAfterMs: 30_000,
    });
    expect(loadConfig({ HERALD_ADMISSION: 'on' }).admission.enabled).toBe(true);
  });

  test('invalid values are each named', () => {
    expect(
      problemsOf({
        HERALD_ADMISSION: 'maybe',
        HERALD_ADMISSION_POLL_INTERVAL: '10ms',
        HERALD_ADMISSION_MAX_BACKLOG: '0',
        HERALD_ADMISSION_MAX_BACKLOG_AGE: 'soon',
        HERALD_ADMISSION_MAX_STARTS_IN_FLIGHT: '1.5',
        HERALD_ADMISSION_MAX_RETRY_AFTER: '500ms',
      }),
    ).toEqual([
      'HERALD_ADMISSION_POLL_INTERVAL: must be from 50ms to 1m',
      'HERALD_ADMISSION_MAX_RETRY_AFTER: must be at least 1s',
      'HERALD_ADMISSION: must be on or off, got "maybe"',
      'HERALD_ADMISSION_MAX_BACKLOG: must be an integer from 1 to 10000000, got "0"',
      'HERALD_ADMISSION_MAX_BACKLOG_AGE: not a duration (use e.g. 500ms, 30s, 5m, 2h, 7d)',
      'HERALD_ADMISSION_MAX_STARTS_IN_FLIGHT: must be an integer from 1 to 100000, got "1.5"',
    ]);
  });
});

describe('metrics', () => {
  test('HERALD_METRICS_PORT takes a port, 0 for any free one, or off', () => {
    expect(loadConfig({ HERALD_METRICS_PORT: '9100' }).metrics.port).toBe(9100);
    expect(loadConfig({ HERALD_METRICS_PORT: '0' }).metrics.port).toBe(0);
    expect(loadConfig({ HERALD_METRICS_PORT: 'off' }).metrics.port).toBeNull();
    expect(loadConfig({ HERALD_METRICS_PORT: 'OFF' }).metrics.port).toBeNull();
  });

  test('a bad port or destination bound is refused with the variable named', () => {
    expect(() => loadConfig({ HERALD_METRICS_PORT: '70000' })).toThrow(
      /HERALD_METRICS_PORT: must be an integer from 0 to 65535/,
    );
    expect(() => loadConfig({ HERALD_METRICS_MAX_DESTINATIONS: '0' })).toThrow(/HERALD_METRICS_MAX_DESTINATIONS/);
  });
});

describe('tracing (OTEL_*)', () => {
  test('off unless an OTLP endpoint is set; the general endpoint gets /v1/traces, the traces one is taken as it is', () => {
    expect(loadConfig({}).tracing.tracesUrl).toBe('');
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).tracing.tracesUrl).toBe(
      'http://collector:4318/v1/traces',
    );
    expect(
      loadConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/otlp',
      }).tracing.tracesUrl,
    ).toBe('https://traces.example/otlp');
  });

  test('OTEL_SDK_DISABLED and OTEL_TRACES_EXPORTER=none turn it off with an endpoint set', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    expect(loadConfig({ ...endpoint, OTEL_SDK_DISABLED: 'true' }).tracing.tracesUrl).toBe('');
    expect(loadConfig({ ...endpoint, OTEL_TRACES_EXPORTER: 'none' }).tracing.tracesUrl).toBe('');
  });

  test('headers (URL-decoded, the traces ones over the general ones) and the service name', () => {
    const { tracing } = loadConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20abc, x-team=herald',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-team=ops',
      OTEL_SERVICE_NAME: 'herald-eu',
    });
    expect(tracing).toEqual({
      tracesUrl: 'http://collector:4318/v1/traces',
      headers: { authorization: 'Bearer abc', 'x-team': 'ops' },
      serviceName: 'herald-eu',
    });
  });

  test('a protocol other than http/json, a bad URL, a bad header entry or another exporter is refused, never echoing a header', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    expect(problemsOf({ ...endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toEqual([
      expect.stringContaining('OTEL_EXPORTER_OTLP_PROTOCOL: Herald exports OTLP over HTTP as JSON'),
    ]);
    expect(problemsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toEqual([
      expect.stringContaining('OTEL_EXPORTER_OTLP_ENDPOINT: must be an http:// or https:// URL'),
    ]);
    const problems = problemsOf({ ...endpoint, OTEL_EXPORTER_OTLP_HEADERS: 'secret-token-without-a-name' });
    expect(problems).toEqual([expect.stringContaining('OTEL_EXPORTER_OTLP_HEADERS: each entry must be key=value')]);
    expect(problems.join()).not.toContain('secret-token');
    expect(problemsOf({ OTEL_TRACES_EXPORTER: 'zipkin' })).toEqual([expect.stringContaining('OTEL_TRACES_EXPORTER')]);
    // With tracing off, a protocol set for other services in the environment is no concern of Herald's.
    expect(loadConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }).tracing.tracesUrl).toBe('');
  });
});

describe('encryption (HERALD_ENCRYPTION_KEYS, HERALD_CODEC_CORS_ORIGINS)', () => {
  const k1 = Buffer.alloc(32, 1).toString('base64');
  const k2 = Buffer.alloc(32, 2).toString('base64');

  test('keys are id:base64, comma-separated, the first current; the others only decrypt', () => {
    const { keyring } = loadConfig({ HERALD_ENCRYPTION_KEYS: ` k2:${k2} , k1:${k1}` }).encryption;
    expect(keyring?.current.id).toBe('k2');
    expect([...keyring!.byId.keys()]).toEqual(['k2', 'k1']);
    expect(keyring!.byId.get('k1')!.key.equals(Buffer.alloc(32, 1))).toBe(true);
  });

  test('each bad entry is named, and no key material is ever printed', () => {
    const short = Buffer.alloc(16, 7).toString('base64');
    const problems = problemsOf({
      HERALD_ENCRYPTION_KEYS: `nocolon,bad id:${k1},short:${short},k1:${k1},k1:${k2},again:${k1}`,
      HERALD_CODEC_CORS_ORIGINS: 'http://ui.example.com/path',
    });
    expect(problems).toEqual([
      'HERALD_ENCRYPTION_KEYS: entry 1: expected id:base64',
      'HERALD_ENCRYPTION_KEYS: entry 2: the id must be 1–64 of A–Z a–z 0–9 . _ -',
      'HERALD_ENCRYPTION_KEYS: entry 3 (short): the key must be 32 bytes in base64 (openssl rand -base64 32)',
      'HERALD_ENCRYPTION_KEYS: entry 5 (k1): the id is given twice',
      'HERALD_ENCRYPTION_KEYS: entry 6 (again): the same key is given twice',
      'HERALD_CODEC_CORS_ORIGINS: "http://ui.example.com/path" is not an origin (scheme://host[:port])',
    ]);
    for (const problem of problems) for (const key of [k1, k2, short]) expect(problem).not.toContain(key);
  });

  test('the codec endpoint admits the embedded UI by default, and no origin outside it', () => {
    expect(loadConfig({ TEMPORAL_UI_PORT: '9233' }).encryption.codecCorsOrigins).toEqual([
      'http://127.0.0.1:9233',
      'http://localhost:9233',
    ]);
    expect(loadConfig({ TEMPORAL_ADDRESS: 'temporal:7233' }).encryption.codecCorsOrigins).toEqual([]);
    expect(
      loadConfig({ HERALD_CODEC_CORS_ORIGINS: 'https://temporal.example.com/, https://ui.example.com:8443' }).encryption
        .codecCorsOrigins,
    ).toEqual(['https://temporal.example.com', 'https://ui.example.com:8443']);
  });
});
