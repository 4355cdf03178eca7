/** canonicalJson: the same output as the recursive version it replaced (stored hashes match), at any depth. */
import { canonicalJson } from '../../src/contract/canonical-json';

/** The recursive version, verbatim: content hashes in existing workflow memos were computed with it. */
function recursiveCanonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(recursiveCanonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${recursiveCanonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const message = {
  id: 'order-1001',
  destination: { url: 'https://api.example.com/hooks', method: 'PUT', headers: { 'X-B': '2', 'X-A': '1' } },
  body: { z: [1, 'two', { y: null, x: true }], a: { é: 'ü', '"q"': '\n' }, n: -0.5e-7 },
  retry: { maximumAttempts: 3, initialInterval: '1s' },
  metadata: {},
};

test.each<[string, unknown]>([
  ['a message', message],
  ['primitives', [null, true, false, 0, -1.5, 'x', '']],
  ['empty containers', { a: [], b: {}, c: [[]], d: [{}] }],
  ['undefined values, dropped from objects', { a: undefined, b: 1, c: [undefined, 2] }],
  ['an array ending in a hole', [1, , 3, ,]], // eslint-disable-line no-sparse-arrays
  ['keys needing escapes and ordering by code unit', { b: 1, B: 2, 'a\u0000': 3, '\u00e9': 4, _: 5, '10': 6, '9': 7 }],
  ['a top-level string', 'hello'],
  ['a top-level number', 42],
  ['null', null],
  ['a Date (written as the recursive version did)', { at: new Date(0) }],
  [
    'the same object twice (not a cycle)',
    (() => {
      const shared = { s: 1 };
      return { a: shared, b: [shared] };
    })(),
  ],
])('%s: identical to the recursive version', (_label, value) => {
  expect(canonicalJson(value)).toBe(recursiveCanonicalJson(value));
});

test('sorted keys make equal content equal text', () => {
  expect(canonicalJson({ b: 1, a: { d: 2, c: 3 } })).toBe(canonicalJson({ a: { c: 3, d: 2 }, b: 1 }));
  expect(canonicalJson({ b: 1, a: { d: 2, c: 3 } })).toBe('{"a":{"c":3,"d":2},"b":1}');
});

test('top-level undefined stays undefined, as JSON.stringify has it', () => {
  expect(canonicalJson(undefined)).toBeUndefined();
});

test('nesting 100,000 levels deep does not overflow the stack (the recursive version did)', () => {
  let deep: unknown = 'leaf';
  for (let i = 0; i < 100_000; i++) deep = i % 2 === 0 ? [deep] : { k: deep };
  expect(() => recursiveCanonicalJson(deep)).toThrow(RangeError);
  const text = canonicalJson(deep);
  expect(text.startsWith('{"k":[{"k":[')).toBe(true);
  expect(text).toContain('["leaf"]}');
  // 50,000 arrays (`[`, `]`), 50,000 objects (`{"k":`, `}`) and the leaf.
  expect(text.length).toBe(50_000 * 2 + 50_000 * 6 + '"leaf"'.length);
});

test('a cycle is refused with a TypeError instead of looping forever', () => {
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = { back: cyclic };
  expect(() => canonicalJson(cyclic)).toThrow(new TypeError('canonicalJson: the value contains a cycle'));
});
