/** The request JSON depth limit: counted on the raw text, strings skipped, before anything parses it. */
import { jsonNestsDeeperThan, MAX_JSON_DEPTH } from '../../src/api/json-depth';

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

test('the limit is 64 levels', () => {
  expect(MAX_JSON_DEPTH).toBe(64);
});

test.each([
  ['a scalar', '42', 0],
  ['an empty object', '{}', 1],
  ['a message', '{"destination":{"url":"x","headers":{"a":"b"}},"body":[{"a":[1]}]}', 4],
  ['mixed objects and arrays', '{"a":[{"b":[{}]}]}', 5],
])('%s nests %i levels', (_label, text, depth) => {
  expect(jsonNestsDeeperThan(text, depth)).toBe(false);
  if (depth > 0) expect(jsonNestsDeeperThan(text, depth - 1)).toBe(true);
});

test('exactly the limit passes, one more does not', () => {
  expect(jsonNestsDeeperThan(nested(64), 64)).toBe(false);
  expect(jsonNestsDeeperThan(nested(65), 64)).toBe(true);
  expect(jsonNestsDeeperThan(nested(10_000), 64)).toBe(true);
});

test('brackets inside strings, escaped quotes included, do not count', () => {
  const text = JSON.stringify({ s: '[[[[{{{{', t: 'quote \\" [[[[ "still a string" {{{{', u: '\\' });
  expect(jsonNestsDeeperThan(text, 1)).toBe(false);
  expect(jsonNestsDeeperThan(`["\\\\", ${nested(3)}]`, 3)).toBe(true);
});

test('siblings do not add up: depth is nesting, not count', () => {
  expect(jsonNestsDeeperThan(`[${Array.from({ length: 1000 }, () => '[{}]').join(',')}]`, 3)).toBe(false);
});
