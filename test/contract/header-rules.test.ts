/** Destination header rules: what can go on the wire exactly as given, and the precise field when not. */
import {
  contentTypeErrors,
  destinationHeaderErrors,
  headerPointer,
  headerValueProblem,
  isTransportHeader,
} from '../../src/contract/header-rules';

describe('header values', () => {
  test.each([
    '',
    'plain',
    'with spaces and\ttabs',
    'Bearer abc.def-ghi',
    'obs-text \u00e9\u00ff',
    '!"#$%&()*+,/:;<=>?@[]{}',
  ])('%p is sent as given', (value) => {
    expect(headerValueProblem(value)).toBeUndefined();
  });

  test.each([
    ['CR', 'a\rb', 'U+000D (CR) at position 1'],
    ['LF', 'a\nInjected: yes', 'U+000A (LF) at position 1'],
    ['CRLF', 'x\r\n\r\nGET / HTTP/1.1', 'U+000D (CR) at position 1'],
    ['NUL', '\u0000', 'U+0000 (NUL) at position 0'],
    ['another control character', 'a\u0007', 'U+0007 at position 1'],
    ['DEL', 'a\u007f', 'U+007F (DEL) at position 1'],
    ['a character beyond U+00FF', 'snow \u2603', 'U+2603 at position 5'],
  ])('%s is refused, saying which character and where', (_label, value, where) => {
    expect(headerValueProblem(value)).toContain(`contains ${where}`);
  });
});

describe('transport headers', () => {
  test.each([
    'Host',
    'host',
    'Content-Length',
    'Transfer-Encoding',
    'Connection',
    'Upgrade',
    'TE',
    'Trailer',
    'Keep-Alive',
    'Expect',
    'HTTP2-Settings',
    'Proxy-Authorization',
    'Proxy-Connection',
    'proxy-anything',
  ])('%s belongs to the transport', (name) => {
    expect(isTransportHeader(name)).toBe(true);
  });

  test.each(['Authorization', 'Content-Type', 'X-Host', 'X-Proxy', 'Idempotency-Key', 'Accept'])(
    '%s may be set by the message',
    (name) => {
      expect(isTransportHeader(name)).toBe(false);
    },
  );
});

describe('destinationHeaderErrors', () => {
  test('acceptable headers make no errors', () => {
    expect(destinationHeaderErrors({ 'X-Tenant': 'acme', Authorization: 'Bearer x', 'content-type': 'a/b' })).toEqual(
      [],
    );
  });

  test('every problem names its header as a JSON pointer', () => {
    const errors = destinationHeaderErrors({
      Host: 'internal.example',
      'X-Split': 'a\r\nX-Injected: 1',
      'Proxy-Authorization': 'Basic eA==',
      'X-Ok': 'fine',
    });
    expect(errors.map((e) => e.field)).toEqual([
      '/destination/headers/Host',
      '/destination/headers/X-Split',
      '/destination/headers/Proxy-Authorization',
    ]);
    expect(errors[0]?.message).toContain('set by the transport');
    expect(errors[1]?.message).toContain('U+000D (CR)');
  });

  test('headers Herald sets from the message are refused, naming where the value comes from', () => {
    const errors = destinationHeaderErrors({ 'Idempotency-Key': 'k', 'webhook-id': 'w', 'X-Ok': 'fine' });
    expect(errors).toEqual([
      { field: '/destination/headers/Idempotency-Key', message: expect.stringContaining('message id') },
      { field: '/destination/headers/webhook-id', message: expect.stringContaining('message id') },
    ]);
  });

  test('a Content-Type header is the sender’s, unless contentType says otherwise', () => {
    expect(contentTypeErrors({ 'Content-Type': 'text/csv' }, undefined)).toEqual([]);
    expect(contentTypeErrors({ 'Content-Type': 'text/csv' }, 'text/csv')).toEqual([]);
    expect(contentTypeErrors({ 'Content-Type': 'text/csv' }, 'application/json')).toEqual([
      { field: '/destination/headers/Content-Type', message: expect.stringContaining('differs from contentType') },
    ]);
  });

  test('two spellings of one name are refused (only one would reach the wire)', () => {
    expect(destinationHeaderErrors({ 'X-Tenant': 'a', 'x-tenant': 'b' })).toEqual([
      { field: '/destination/headers/x-tenant', message: 'repeats X-Tenant (header names ignore case)' },
    ]);
  });

  test('pointers escape ~ as RFC 6901 says', () => {
    expect(headerPointer('x~y')).toBe('/destination/headers/x~0y');
    expect(destinationHeaderErrors({ 'x~y': '\n' })[0]?.field).toBe('/destination/headers/x~0y');
  });
});
