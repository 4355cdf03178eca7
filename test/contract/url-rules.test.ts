/** URL rules: a URL is used exactly as written, or refused naming the field. */
import { urlErrors } from '../../src/contract/url-rules';

test.each([
  'https://api.example.com/hooks',
  'http://127.0.0.1:9000/hook?x=1&y=%20',
  'https://münchen.example/pfad',
  'ftp://files.example/x', // well-formed; the destination policy (not this rule) refuses the scheme
  'http://user:pw@example.com/', // likewise
])('%s is a usable URL', (url) => {
  expect(urlErrors(url, '/destination/url')).toEqual([]);
});

test.each([
  ['CR LF', 'http://example.com/a\r\nHost: evil', 'U+000D (CR) at position 20'],
  ['LF', 'http://exa\nmple.com/', 'U+000A (LF) at position 10'],
  ['a tab', 'http://example.com/\tx', 'U+0009 (TAB) at position 19'],
  ['NUL', 'http://example.com/\u0000', 'U+0000 (NUL) at position 19'],
  ['a space', 'http://example.com/a b', 'U+0020 (space) at position 20'],
  ['a leading space', ' http://example.com/', 'U+0020 (space) at position 0'],
  ['a trailing newline', 'http://example.com/\n', 'U+000A (LF) at position 19'],
  ['DEL', 'http://example.com/\u007f', 'U+007F (DEL) at position 19'],
  ['a C1 control', 'http://example.com/\u0085', 'U+0085 at position 19'],
  ['a no-break space', 'http://example.com/\u00a0', 'U+00A0 at position 19'],
])('%s is refused: the parser would rewrite it', (_label, url, where) => {
  const errors = urlErrors(url, '/destination/url');
  expect(errors).toHaveLength(1);
  expect(errors[0]?.field).toBe('/destination/url');
  expect(errors[0]?.message).toContain(`contains ${where}`);
});

test.each([
  'not-a-url',
  'example.com/hook',
  'http://[::1',
  'http://exa%mple.com/',
  'http://example.com:99999/',
  '//example.com/x',
])('%p is not a URL', (url) => {
  expect(urlErrors(url, '/callback/url')).toEqual([
    { field: '/callback/url', message: 'is not a URL (an absolute URL such as https://api.example.com/hooks)' },
  ]);
});
