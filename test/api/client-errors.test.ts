/** What Node's HTTP parser refuses becomes a problem with a stable type. */
import { clientErrorProblem } from '../../src/api/client-errors';

test.each([
  ['HPE_HEADER_OVERFLOW', 431, 'header-fields-too-large'],
  ['ERR_HTTP_REQUEST_TIMEOUT', 408, 'request-timeout'],
  ['HPE_INVALID_HEADER_TOKEN', 400, 'malformed-request'],
  ['HPE_INVALID_METHOD', 400, 'malformed-request'],
  [undefined, 400, 'malformed-request'],
])('%s is %i %s', (code, status, kind) => {
  const problem = clientErrorProblem(code);
  expect(problem.status).toBe(status);
  expect(problem.body()).toMatchObject({ type: `urn:herald:problem:${kind}`, status, detail: expect.any(String) });
});
