/** API key verification: Bearer scheme, exact keys, the key's name as the result. */
import { createApiKeyVerifier } from '../../src/api/auth';

const verify = createApiKeyVerifier([
  { name: 'ops', key: 'ops-key-0123456789' },
  { name: 'ci', key: 'ci-key-0123456789ab' },
]);

test('a known key answers with its name', () => {
  expect(verify('Bearer ops-key-0123456789')).toBe('ops');
  expect(verify('bearer   ci-key-0123456789ab ')).toBe('ci');
});

test.each([
  undefined,
  '',
  'Bearer',
  'Bearer ops-key-012345678',
  'Bearer ops-key-0123456789x',
  'Basic ops-key-0123456789',
  'ops-key-0123456789',
  'Bearer a b',
])('%p is refused', (header) => {
  expect(verify(header)).toBeUndefined();
});

test('no configured keys refuses everything', () => {
  expect(createApiKeyVerifier([])('Bearer anything-at-all-here')).toBeUndefined();
});
