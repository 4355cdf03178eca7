/** Reply shape checks: a reply needs a body; status and headers, when given, must be well-formed. */
import type { ReplyInput } from '../../src/contract/message-status';
import { validateReply } from '../../src/contract/reply';

/** Replies arrive from any client (the CLI, raw signals), so the checks must hold for untyped input too. */
const check = (reply: unknown) => validateReply(reply as ReplyInput | undefined);

describe('accepted', () => {
  test.each<[string, unknown]>([
    ['a string body', { body: 'ok' }],
    ['a null body', { body: null }],
    ['a zero body', { body: 0 }],
    ['a false body', { body: false }],
    ['an empty-string body', { body: '' }],
    ['an object body', { body: { orderId: 42, items: [1, 2] } }],
    ['an array body', { body: [1, 2, 3] }],
    ['a status', { body: 'ok', status: 201 }],
    ['the lowest status', { body: 'ok', status: 100 }],
    ['the highest status', { body: 'ok', status: 599 }],
    ['headers', { body: 'ok', headers: { 'content-type': 'text/plain', 'x-request-id': 'abc' } }],
    ['empty headers', { body: 'ok', headers: {} }],
    ['empty header values', { body: 'ok', headers: { 'x-empty': '' } }],
    ['everything', { body: { ok: true }, status: 200, headers: { a: 'b' } }],
  ])('%s', (_label, reply) => {
    expect(check(reply)).toBeUndefined();
  });
});

describe('refused, saying why', () => {
  test.each<[string, unknown]>([
    ['undefined', undefined],
    ['null', null],
    ['a string', 'ok'],
    ['a number', 200],
    ['a boolean', true],
    ['an array', [{ body: 'ok' }]],
  ])('%s is not a reply object', (_label, reply) => {
    expect(check(reply)).toBe('a reply must be an object with a body');
  });

  test.each<[string, unknown]>([
    ['no body', {}],
    ['only a status', { status: 200 }],
    ['an undefined body', { body: undefined }],
  ])('%s: a reply needs a body', (_label, reply) => {
    expect(check(reply)).toBe('a reply needs a body');
  });

  test.each<[string, unknown]>([
    ['99', 99],
    ['600', 600],
    ['0', 0],
    ['-200', -200],
    ['200.5', 200.5],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['the string "200"', '200'],
    ['null', null],
  ])('a status of %s is refused', (_label, status) => {
    expect(check({ body: 'ok', status })).toBe('reply status must be an integer from 100 to 599');
  });

  test.each<[string, unknown]>([
    ['an array', []],
    ['null', null],
    ['a string', 'content-type: text/plain'],
    ['a number', 1],
  ])('headers that are %s are refused', (_label, headers) => {
    expect(check({ body: 'ok', headers })).toBe('reply headers must be an object');
  });

  test.each<[string, unknown]>([
    ['a number', 1],
    ['null', null],
    ['an array', ['a', 'b']],
    ['an object', { nested: 'x' }],
    ['a boolean', true],
  ])('a header value that is %s is refused', (_label, value) => {
    expect(check({ body: 'ok', headers: { good: 'yes', bad: value } })).toBe('reply header values must be strings');
  });

  test('the status is checked before the headers', () => {
    expect(check({ body: 'ok', status: 700, headers: { a: 1 } })).toBe(
      'reply status must be an integer from 100 to 599',
    );
  });

  test('a missing body is reported before a bad status', () => {
    expect(check({ status: 700 })).toBe('a reply needs a body');
  });
});
