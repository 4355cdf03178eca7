/** The classification table, row by row, for statuses and transport errors. */
import { classifyStatus, classifyTransportError } from '../../src/retry/classify';

test.each([200, 201, 202, 204, 299])('%i is delivered', (status) => {
  expect(classifyStatus(status)).toEqual({ outcome: 'delivered' });
});

test.each([500, 502, 503, 504, 599, 408, 409, 425, 429])('%i is retryable', (status) => {
  expect(classifyStatus(status)).toEqual({ outcome: 'retryable', cause: `http_${status}` });
});

test.each([400, 401, 403, 404, 405, 410, 413, 415, 422, 451, 301, 302, 307, 308, 100])('%i is permanent', (status) => {
  expect(classifyStatus(status)).toEqual({ outcome: 'permanent', cause: `http_${status}` });
});

const withCode = (code: string, message = 'failed') => Object.assign(new Error(message), { code });

test.each([
  ['ECONNREFUSED', 'connection_refused'],
  ['ECONNRESET', 'connection_reset'],
  ['EPIPE', 'connection_reset'],
  ['UND_ERR_SOCKET', 'connection_reset'],
  ['ENOTFOUND', 'dns_failure'],
  ['EAI_AGAIN', 'dns_failure'],
  ['ETIMEDOUT', 'timeout'],
  ['UND_ERR_HEADERS_TIMEOUT', 'timeout'],
  ['UND_ERR_CONNECT_TIMEOUT', 'timeout'],
  ['EHOSTUNREACH', 'host_unreachable'],
  ['ERR_SSL_WRONG_VERSION_NUMBER', 'tls_failure'],
  ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls_failure'],
  ['CERT_HAS_EXPIRED', 'tls_failure'],
  ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls_failure'],
])('%s is retryable (%s)', (code, cause) => {
  expect(classifyTransportError(withCode(code))).toEqual({ outcome: 'retryable', cause });
});

test('the cause chain is followed (undici wraps the socket error)', () => {
  const wrapped = Object.assign(new TypeError('fetch failed'), { cause: withCode('ECONNREFUSED') });
  expect(classifyTransportError(wrapped)).toEqual({ outcome: 'retryable', cause: 'connection_refused' });
});

test('an aborted or timed-out request is a timeout', () => {
  expect(classifyTransportError(Object.assign(new Error('x'), { name: 'TimeoutError' })).cause).toBe('timeout');
  expect(classifyTransportError(Object.assign(new Error('x'), { name: 'AbortError' })).cause).toBe('timeout');
});

test('a connection the destination policy refused is permanent', () => {
  expect(classifyTransportError(withCode('EDESTINATIONBLOCKED'))).toEqual({
    outcome: 'permanent',
    cause: 'destination_blocked',
  });
});

test('an unknown error is a retryable network error; a TLS message without a code is still TLS', () => {
  expect(classifyTransportError(new Error('something odd'))).toEqual({ outcome: 'retryable', cause: 'network_error' });
  expect(classifyTransportError(undefined)).toEqual({ outcome: 'retryable', cause: 'network_error' });
  expect(classifyTransportError(new Error('SSL routines: wrong version number')).cause).toBe('tls_failure');
});
