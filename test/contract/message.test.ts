/** The message contract: what is accepted, and the precise field named when it is not. */
import {
  destinationHost,
  MessageInputSchema,
  schemaErrors,
  validateMessage,
  wireRuleErrors,
  type FieldError,
  type MessageInput,
} from '../../src/contract/message';

const minimal = { id: 'msg_1', destination: { url: 'https://api.example.com/hook' } };

const full = {
  id: 'order-1001:v2',
  sender: 'ops',
  destination: {
    url: 'https://api.example.com/hook',
    method: 'PUT',
    headers: { 'X-Tenant': 'acme', 'X-Request-Source': 'k-1' },
  },
  bodyBase64: 'aGVsbG8=',
  contentType: 'text/plain',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '5m',
    maximumAttempts: 5,
    jitter: 0.1,
    attemptTimeout: 30_000,
    deadline: '1d',
  },
  reply: { timeout: '10m' },
  callback: { url: 'https://sender.example.com/outcome' },
  metadata: { tenant: 'acme', region: 'eu' },
};

function errorsOf(input: unknown): FieldError[] {
  const result = validateMessage(input);
  if (result.ok) throw new Error(`expected ${JSON.stringify(input)} to be refused`);
  return result.errors;
}

describe('accepted', () => {
  test('a minimal message, returned unchanged', () => {
    expect(validateMessage(minimal)).toEqual({ ok: true, value: minimal });
  });

  test('a full message, returned unchanged', () => {
    expect(validateMessage(full)).toEqual({ ok: true, value: full });
  });

  test('a JSON body of any kind', () => {
    for (const body of [{ a: 1 }, [1, 2], 'text', 0, false, null]) {
      expect(validateMessage({ ...minimal, body }).ok).toBe(true);
    }
  });

  test.each(['POST', 'PUT', 'PATCH', 'DELETE', 'GET'])('method %s', (method) => {
    expect(validateMessage({ ...minimal, destination: { ...minimal.destination, method } }).ok).toBe(true);
  });

  test.each(['a', 'msg_01JD5Z3ZB8T6N8W1C2Q4R7Y9XA', 'order-1001:v2', 'A.b~c_d-e:f', '9', 'x'.repeat(200)])(
    'id %p',
    (id) => {
      expect(validateMessage({ ...minimal, id }).ok).toBe(true);
    },
  );

  test('RFC 9110 token characters in header names', () => {
    const headers = { "X-A!#$%&'*+.^_`|~": 'v', 'content-type': 'application/json', 'X-1': '' };
    expect(validateMessage({ ...minimal, destination: { ...minimal.destination, headers } }).ok).toBe(true);
  });

  test('durations as strings or whole milliseconds', () => {
    expect(validateMessage({ ...minimal, retry: { deadline: 60_000, attemptTimeout: '5s' } }).ok).toBe(true);
  });

  test('bodyBase64 of an empty body, with its content type', () => {
    expect(validateMessage({ ...minimal, bodyBase64: '', contentType: 'application/octet-stream' }).ok).toBe(true);
  });
});

describe('refused, naming the precise field', () => {
  test.each<[string, unknown, string]>([
    ['not an object', 'hello', '/'],
    ['an id in the callback namespace', { ...minimal, id: 'order-1.callback-1' }, '/id'],
    ['null', null, '/'],
    ['an array', [minimal], '/'],
    ['no destination', { id: 'm' }, '/destination'],
    ['no id', { destination: minimal.destination }, '/id'],
    ['no destination url', { ...minimal, destination: {} }, '/destination/url'],
    ['an empty destination url', { ...minimal, destination: { url: '' } }, '/destination/url'],
    [
      'a destination url that is too long',
      { ...minimal, destination: { url: 'https://x/' + 'a'.repeat(2048) } },
      '/destination/url',
    ],
    ['a bad method', { ...minimal, destination: { url: 'https://x', method: 'FETCH' } }, '/destination/method'],
    ['a lower-case method', { ...minimal, destination: { url: 'https://x', method: 'post' } }, '/destination/method'],
    [
      'an unknown destination field',
      { ...minimal, destination: { url: 'https://x', timeout: 1 } },
      '/destination/timeout',
    ],
    ['an unknown top-level field', { ...minimal, priority: 1 }, '/priority'],
    ['an id with a space', { ...minimal, id: 'has space' }, '/id'],
    ['an id starting with a dash', { ...minimal, id: '-abc' }, '/id'],
    ['an empty id', { ...minimal, id: '' }, '/id'],
    ['an id of 201 characters', { ...minimal, id: 'x'.repeat(201) }, '/id'],
    ['an id with a slash', { ...minimal, id: 'a/b' }, '/id'],
    ['a numeric id', { ...minimal, id: 42 }, '/id'],
    [
      'a header name with a space',
      { ...minimal, destination: { url: 'https://x', headers: { 'bad header': 'v' } } },
      '/destination/headers/bad header',
    ],
    [
      'a header name with a colon',
      { ...minimal, destination: { url: 'https://x', headers: { 'x-a:b': 'v' } } },
      '/destination/headers/x-a:b',
    ],
    [
      'a non-string header value',
      { ...minimal, destination: { url: 'https://x', headers: { 'x-n': 1 } } },
      '/destination/headers/x-n',
    ],
    ['body and bodyBase64 together', { ...minimal, body: {}, bodyBase64: 'aA==', contentType: 'x/y' }, '/bodyBase64'],
    ['bodyBase64 without contentType', { ...minimal, bodyBase64: 'aA==' }, '/contentType'],
    ['bodyBase64 of a bad length', { ...minimal, bodyBase64: 'aGVsbG8', contentType: 'x/y' }, '/bodyBase64'],
    ['bodyBase64 with bad characters', { ...minimal, bodyBase64: 'a$b=', contentType: 'x/y' }, '/bodyBase64'],
    ['an empty contentType', { ...minimal, bodyBase64: 'aA==', contentType: '' }, '/contentType'],
    ['an unknown retry field', { ...minimal, retry: { retries: 3 } }, '/retry/retries'],
    ['a bad duration', { ...minimal, reply: { timeout: '5 minutes' } }, '/reply/timeout'],
    ['a negative duration', { ...minimal, retry: { deadline: -1 } }, '/retry/deadline'],
    ['a fractional millisecond duration', { ...minimal, retry: { deadline: 1.5 } }, '/retry/deadline'],
    ['a reply without a timeout', { ...minimal, reply: {} }, '/reply/timeout'],
    ['a jitter above 1', { ...minimal, retry: { jitter: 1.5 } }, '/retry/jitter'],
    ['a negative jitter', { ...minimal, retry: { jitter: -0.1 } }, '/retry/jitter'],
    ['a backoffCoefficient below 1', { ...minimal, retry: { backoffCoefficient: 0.5 } }, '/retry/backoffCoefficient'],
    ['maximumAttempts of 0', { ...minimal, retry: { maximumAttempts: 0 } }, '/retry/maximumAttempts'],
    ['fractional maximumAttempts', { ...minimal, retry: { maximumAttempts: 2.5 } }, '/retry/maximumAttempts'],
    ['an empty callback url', { ...minimal, callback: { url: '' } }, '/callback/url'],
    ['a non-string metadata value', { ...minimal, metadata: { tenant: 1 } }, '/metadata/tenant'],
  ])('%s', (_label, input, field) => {
    expect(errorsOf(input).map((e) => e.field)).toContain(field);
  });

  test('every error names a field and says what is wrong', () => {
    const errors = errorsOf({ ...minimal, id: 'has space', priority: 1, destination: { url: '', method: 'FETCH' } });
    expect(errors.map((e) => e.field).sort()).toEqual(['/destination/method', '/destination/url', '/id', '/priority']);
    for (const error of errors) expect(error.message).toEqual(expect.any(String));
    for (const error of errors) expect(error.message.length).toBeGreaterThan(0);
  });

  test('one error per field, even when a union fails in several ways', () => {
    const errors = errorsOf({ ...minimal, retry: { deadline: 'forever' } });
    expect(errors).toHaveLength(1);
    expect(errors[0]?.field).toBe('/retry/deadline');
  });

  test('the cross-field rules say what to do', () => {
    expect(errorsOf({ ...minimal, body: {}, bodyBase64: 'aA==', contentType: 'x/y' })).toEqual([
      { field: '/bodyBase64', message: 'give either body (JSON) or bodyBase64, not both' },
    ]);
    expect(errorsOf({ ...minimal, bodyBase64: 'aA==' })).toEqual([
      { field: '/contentType', message: 'contentType is required with bodyBase64' },
    ]);
    expect(errorsOf({ ...minimal, bodyBase64: 'aGVsbG8', contentType: 'x/y' })).toEqual([
      { field: '/bodyBase64', message: 'not valid base64 (length must be a multiple of 4)' },
    ]);
  });

  test('all cross-field problems are reported together', () => {
    expect(errorsOf({ ...minimal, body: 'x', bodyBase64: 'aGVsbG8' })).toEqual([
      { field: '/bodyBase64', message: 'give either body (JSON) or bodyBase64, not both' },
      { field: '/contentType', message: 'contentType is required with bodyBase64' },
      { field: '/bodyBase64', message: 'not valid base64 (length must be a multiple of 4)' },
    ]);
  });
});

describe('the input schema (what a sender submits)', () => {
  test('the id is optional there, and still checked when given', () => {
    expect(schemaErrors(MessageInputSchema, { destination: minimal.destination })).toEqual([]);
    expect(schemaErrors(MessageInputSchema, { ...minimal, id: 'has space' }).map((e) => e.field)).toEqual(['/id']);
  });

  test('a sender cannot set the sender', () => {
    expect(schemaErrors(MessageInputSchema, { ...minimal, sender: 'ops' }).map((e) => e.field)).toEqual(['/sender']);
  });
});

describe('destinationHost', () => {
  test.each([
    ['https://api.example.com/hook', 'api.example.com'],
    ['https://api.example.com:8443/x', 'api.example.com:8443'],
    ['https://api.example.com:443/x', 'api.example.com'],
    ['http://api.example.com:80/x', 'api.example.com'],
    ['http://[::1]:9/x', '[::1]:9'],
    ['http://127.0.0.1:3000', '127.0.0.1:3000'],
    ['https://API.Example.COM/x', 'api.example.com'],
    ['https://user:pass@api.example.com/x?q=1#f', 'api.example.com'],
  ])('%s → %s', (url, host) => {
    expect(destinationHost(url)).toBe(host);
  });

  test.each(['not a url', '', '/relative/path', 'http://'])('an unusable URL (%p) gives an empty host', (url) => {
    expect(destinationHost(url)).toBe('');
  });
});

describe('the wire rules (URLs and headers go out exactly as given)', () => {
  const withHeaders = (headers: Record<string, string>) => ({
    ...minimal,
    destination: { ...minimal.destination, headers },
  });

  test.each<[string, unknown, string]>([
    ['a header value with CR LF', withHeaders({ 'X-Foo': 'a\r\nX-Injected: 1' }), '/destination/headers/X-Foo'],
    ['a header value with NUL', withHeaders({ 'X-Foo': 'a\u0000' }), '/destination/headers/X-Foo'],
    ['a Host header', withHeaders({ Host: 'internal.example' }), '/destination/headers/Host'],
    [
      'a Transfer-Encoding header',
      withHeaders({ 'Transfer-Encoding': 'chunked' }),
      '/destination/headers/Transfer-Encoding',
    ],
    [
      'a Proxy-* header',
      withHeaders({ 'Proxy-Authorization': 'Basic eA==' }),
      '/destination/headers/Proxy-Authorization',
    ],
    ['one header in two spellings', withHeaders({ 'X-A': '1', 'x-a': '2' }), '/destination/headers/x-a'],
    ['a URL with CR LF', { ...minimal, destination: { url: 'https://x/a\r\nb' } }, '/destination/url'],
    ['a URL with a space', { ...minimal, destination: { url: 'https://x/a b' } }, '/destination/url'],
    ['a URL that is not a URL', { ...minimal, destination: { url: 'not a url' } }, '/destination/url'],
    ['a callback URL with a tab', { ...minimal, callback: { url: 'https://x/\tcb' } }, '/callback/url'],
    ['a callback URL that is not a URL', { ...minimal, callback: { url: 'cb' } }, '/callback/url'],
  ])('%s is refused', (_label, input, field) => {
    expect(errorsOf(input).map((e) => e.field)).toEqual([field]);
    expect(wireRuleErrors(input as MessageInput).map((e) => e.field)).toEqual([field]);
  });

  test('wireRules: false checks only what was checked before the rules (for runs that started before them)', () => {
    const input = withHeaders({ Host: 'internal.example', 'X-Foo': 'a\nb' });
    expect(validateMessage(input).ok).toBe(false);
    expect(validateMessage(input, { wireRules: false })).toEqual({ ok: true, value: input });
    expect(validateMessage({ ...minimal, priority: 1 }, { wireRules: false }).ok).toBe(false);
  });
});
