/** The classification table, row by row, for statuses and transport errors. */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { classifyStatus, classifyTransportError } from '../../src/retry/classify';

describe('HTTP status', () => {
  test.each([200, 201, 202, 203, 204, 206, 226, 299])('%i is delivered', (status) => {
    expect(classifyStatus(status)).toEqual({ outcome: 'delivered' });
  });

  test.each([500, 501, 502, 503, 504, 507, 511, 599])('%i (5xx) is retryable', (status) => {
    expect(classifyStatus(status)).toEqual({ outcome: 'retryable', cause: `http_${status}` });
  });

  test.each([
    [408, 'Request Timeout'],
    [409, 'Conflict'],
    [425, 'Too Early'],
    [429, 'Too Many Requests'],
  ])('%i %s is retryable', (status) => {
    expect(classifyStatus(status)).toEqual({ outcome: 'retryable', cause: `http_${status}` });
  });

  test.each([
    400, 402, 403, 404, 405, 406, 407, 410, 411, 412, 413, 414, 415, 416, 417, 418, 421, 422, 423, 424, 426, 428, 431,
    451, 499,
  ])('%i (other 4xx) is permanent', (status) => {
    expect(classifyStatus(status)).toEqual({ outcome: 'permanent', cause: `http_${status}` });
  });

  test('401 is permanent at this layer (the activity refreshes a token before it gets here)', () => {
    expect(classifyStatus(401)).toEqual({ outcome: 'permanent', cause: 'http_401' });
  });

  test.each([300, 301, 302, 303, 304, 307, 308])('%i (3xx, never followed) is permanent', (status) => {
    expect(classifyStatus(status)).toEqual({ outcome: 'permanent', cause: `http_${status}` });
  });

  test.each([100, 101, 103, 199])('%i (1xx as a final status) is permanent', (status) => {
    expect(classifyStatus(status)).toEqual({ outcome: 'permanent', cause: `http_${status}` });
  });

  test('the boundaries of each class', () => {
    expect(classifyStatus(199).outcome).toBe('permanent');
    expect(classifyStatus(200).outcome).toBe('delivered');
    expect(classifyStatus(299).outcome).toBe('delivered');
    expect(classifyStatus(300).outcome).toBe('permanent');
    expect(classifyStatus(407).outcome).toBe('permanent');
    expect(classifyStatus(408).outcome).toBe('retryable');
    expect(classifyStatus(410).outcome).toBe('permanent');
    expect(classifyStatus(424).outcome).toBe('permanent');
    expect(classifyStatus(426).outcome).toBe('permanent');
    expect(classifyStatus(428).outcome).toBe('permanent');
    expect(classifyStatus(430).outcome).toBe('permanent');
    expect(classifyStatus(499).outcome).toBe('permanent');
    expect(classifyStatus(500).outcome).toBe('retryable');
  });
});

describe('transport errors', () => {
  const withCode = (code: string, message = 'failed') => Object.assign(new Error(message), { code });
  const wrap = (cause: unknown, message = 'fetch failed') => Object.assign(new TypeError(message), { cause });

  test.each([
    ['ECONNREFUSED', 'connection_refused'],
    ['ECONNRESET', 'connection_reset'],
    ['EPIPE', 'connection_reset'],
    ['UND_ERR_SOCKET', 'connection_reset'],
    ['UND_ERR_CLOSED', 'connection_reset'],
    ['ENOTFOUND', 'dns_failure'],
    ['EAI_AGAIN', 'dns_failure'],
    ['EAI_FAIL', 'dns_failure'],
    ['ETIMEDOUT', 'timeout'],
    ['UND_ERR_CONNECT_TIMEOUT', 'timeout'],
    ['UND_ERR_HEADERS_TIMEOUT', 'timeout'],
    ['UND_ERR_BODY_TIMEOUT', 'timeout'],
    ['EHOSTUNREACH', 'host_unreachable'],
    ['ENETUNREACH', 'host_unreachable'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'tls_failure'],
    ['ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', 'tls_failure'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls_failure'],
    ['ERR_TLS_HANDSHAKE_TIMEOUT', 'tls_failure'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls_failure'],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'tls_failure'],
    ['CERT_HAS_EXPIRED', 'tls_failure'],
    ['CERT_NOT_YET_VALID', 'tls_failure'],
    ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'tls_failure'],
  ])('%s is retryable (%s)', (code, cause) => {
    expect(classifyTransportError(withCode(code))).toEqual({ outcome: 'retryable', cause });
  });

  test.each([
    ['ECONNREFUSED', 'connection_refused'],
    ['ECONNRESET', 'connection_reset'],
    ['UND_ERR_SOCKET', 'connection_reset'],
    ['ENOTFOUND', 'dns_failure'],
    ['EAI_AGAIN', 'dns_failure'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'tls_failure'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls_failure'],
  ])('%s is found through a cause chain (fetch wraps the socket error)', (code, cause) => {
    expect(classifyTransportError(wrap(withCode(code)))).toEqual({ outcome: 'retryable', cause });
    expect(classifyTransportError(wrap(wrap(wrap(withCode(code)), 'outer'), 'outermost'))).toEqual({
      outcome: 'retryable',
      cause,
    });
  });

  test('the first recognised error in the chain decides', () => {
    const chain = Object.assign(withCode('UND_ERR_SOCKET'), { cause: withCode('ECONNREFUSED') });
    expect(classifyTransportError(chain).cause).toBe('connection_reset');
    expect(classifyTransportError(wrap(chain)).cause).toBe('connection_reset');
  });

  test('an unrecognised code on the outside does not hide a recognised one inside', () => {
    const chain = Object.assign(withCode('ERR_SOMETHING_ELSE'), { cause: withCode('ENOTFOUND') });
    expect(classifyTransportError(chain)).toEqual({ outcome: 'retryable', cause: 'dns_failure' });
  });

  test('causes may be plain objects, not Errors', () => {
    expect(classifyTransportError({ cause: { code: 'ECONNRESET' } })).toEqual({
      outcome: 'retryable',
      cause: 'connection_reset',
    });
  });

  test('a cause cycle does not hang', () => {
    const cyclic = new Error('loop') as Error & { cause?: unknown };
    cyclic.cause = cyclic;
    expect(classifyTransportError(cyclic)).toEqual({ outcome: 'retryable', cause: 'network_error' });
  });

  test.each([
    ['TimeoutError', new DOMException('The operation was aborted due to timeout', 'TimeoutError')],
    ['AbortError', new DOMException('This operation was aborted', 'AbortError')],
    ['TimeoutError (plain Error)', Object.assign(new Error('x'), { name: 'TimeoutError' })],
    ['AbortError (plain Error)', Object.assign(new Error('x'), { name: 'AbortError' })],
    ['TimeoutError inside a cause', wrap(new DOMException('timed out', 'TimeoutError'))],
  ])('%s is a retryable timeout', (_label, error) => {
    expect(classifyTransportError(error)).toEqual({ outcome: 'retryable', cause: 'timeout' });
  });

  test('a connection the destination policy refused is permanent, even when wrapped', () => {
    const blocked = withCode('EDESTINATIONBLOCKED', 'destination 10.0.0.1 is not allowed');
    expect(classifyTransportError(blocked)).toEqual({ outcome: 'permanent', cause: 'destination_blocked' });
    expect(classifyTransportError(wrap(blocked))).toEqual({ outcome: 'permanent', cause: 'destination_blocked' });
  });

  test('a TLS failure named only in the message is still TLS', () => {
    for (const message of [
      'SSL routines:ssl3_get_record:wrong version number',
      'self-signed certificate',
      'unable to verify the first certificate',
      'Client network socket disconnected before secure TLS connection was established',
    ]) {
      expect(classifyTransportError(new Error(message))).toEqual({ outcome: 'retryable', cause: 'tls_failure' });
    }
  });

  test('anything unknown is a retryable network error', () => {
    for (const error of [
      new Error('something odd'),
      withCode('ERR_SOMETHING_ELSE'),
      new TypeError('fetch failed'),
      wrap(new Error('mystery')),
      undefined,
      null,
      0,
      'a string was thrown',
      {},
    ]) {
      expect(classifyTransportError(error)).toEqual({ outcome: 'retryable', cause: 'network_error' });
    }
  });

  test('a non-string code (a DOMException has a number) does not throw', () => {
    expect(classifyTransportError(Object.assign(new Error('x'), { code: 42 }))).toEqual({
      outcome: 'retryable',
      cause: 'network_error',
    });
    expect(classifyTransportError(new DOMException('cannot clone', 'DataCloneError'))).toEqual({
      outcome: 'retryable',
      cause: 'network_error',
    });
    expect(classifyTransportError(wrap({ code: 7, cause: withCode('ECONNRESET') }))).toEqual({
      outcome: 'retryable',
      cause: 'connection_reset',
    });
  });
});

describe('errors as undici really throws them', () => {
  const servers: Server[] = [];
  async function listen(handler: RequestListener): Promise<number> {
    const server = createServer(handler);
    servers.push(server);
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    return (server.address() as AddressInfo).port;
  }
  afterAll(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    }
  });

  // `.catch(classifyTransportError)` gives the failure's classification; a request that succeeds
  // resolves with its response instead, which fails the comparison.
  test('nothing listening: connection_refused', async () => {
    const port = await listen(() => undefined);
    const server = servers.pop()!;
    await new Promise((done) => server.close(done));
    await expect(request(`http://127.0.0.1:${port}/`).catch(classifyTransportError)).resolves.toEqual({
      outcome: 'retryable',
      cause: 'connection_refused',
    });
  });

  test('the server drops the connection: connection_reset', async () => {
    const port = await listen((req) => req.socket.destroy());
    await expect(request(`http://127.0.0.1:${port}/`).catch(classifyTransportError)).resolves.toEqual({
      outcome: 'retryable',
      cause: 'connection_reset',
    });
  });

  test('no answer before the abort signal: timeout', async () => {
    const port = await listen(() => undefined);
    await expect(
      request(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(50) }).catch(classifyTransportError),
    ).resolves.toEqual({ outcome: 'retryable', cause: 'timeout' });
    const aborted = new AbortController();
    setTimeout(() => aborted.abort(), 20);
    await expect(
      request(`http://127.0.0.1:${port}/`, { signal: aborted.signal }).catch(classifyTransportError),
    ).resolves.toEqual({ outcome: 'retryable', cause: 'timeout' });
  });

  test('no headers in time: timeout', async () => {
    const port = await listen(() => undefined);
    await expect(
      request(`http://127.0.0.1:${port}/`, { headersTimeout: 50 }).catch(classifyTransportError),
    ).resolves.toEqual({ outcome: 'retryable', cause: 'timeout' });
  });

  test('https to a plain-HTTP port: tls_failure', async () => {
    const port = await listen(() => undefined);
    await expect(request(`https://127.0.0.1:${port}/`).catch(classifyTransportError)).resolves.toEqual({
      outcome: 'retryable',
      cause: 'tls_failure',
    });
  });
});
