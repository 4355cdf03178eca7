/** A bulk redrive is scoped by a filter or an explicit all: true, never by an empty body. */
import { requireBulkRedriveScope } from '../../src/api/bulk-redrive-scope';
import { ProblemError } from '../../src/api/problem';

test.each([{}, { all: false }, { limit: 10 }, { dryRun: true }])('%p is refused naming the rule', (body) => {
  expect(() => requireBulkRedriveScope(body)).toThrow(ProblemError);
  try {
    requireBulkRedriveScope(body);
  } catch (error) {
    const problem = (error as ProblemError).body();
    expect(problem).toMatchObject({ type: 'urn:herald:problem:validation-failed', status: 400 });
    expect(problem.detail).toBe(
      'a bulk redrive needs a filter (kind, reason, destination, since, until) or "all": true for every parked dead letter',
    );
    expect(problem.errors?.[0]?.field).toBe('/all');
  }
});

test.each([
  { all: true },
  { reason: 'permanent_error' },
  { destination: 'api.example.com' },
  { kind: 'callback' },
  { since: '2026-01-01T00:00:00Z' },
  { until: '2026-01-01T00:00:00Z' },
  { all: true, dryRun: true },
])('%p is scoped', (body) => {
  expect(() => requireBulkRedriveScope(body)).not.toThrow();
});
