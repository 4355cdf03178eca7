/** API key verification: Bearer scheme, exact keys, the key's name as the result. */
import { createApiKeyVerifier } from '../../src/api/auth';

const verify = createApiKeyVerifier([
  { name: 'ops', key: 'ops-key-0123456789', roles: ['operator'] },
  { name: 'ci', key: 'ci-key-0123456789ab', roles: 'unscoped' },
]);

test('a known key answers with its name and roles', () => {
  expect(verify('Bearer ops-key-0123456789')).toEqual({ name: 'ops', roles: ['operator'] });
  expect(verify('bearer   ci-key-0123456789ab ')).toEqual({ name: 'ci', roles: 'unscoped' });
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
