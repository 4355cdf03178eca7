/**
 * Requests Node's HTTP parser refuses before Fastify sees them (headers too large, a malformed request
 * line, a request that took too long to arrive) still get an RFC 9457 problem, written to the socket.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { ProblemError, type ProblemKind } from './problem';

/** The problem for an error Node's HTTP server reports through its 'clientError' event. */
export function clientErrorProblem(code: string | undefined): ProblemError {
  let kind: ProblemKind = 'malformed-request';
  let detail = 'the request is not valid HTTP/1.1';
  if (code === 'HPE_HEADER_OVERFLOW') {
    kind = 'header-fields-too-large';
    // Node's limit (--max-http-header-size, 16 KiB by default) covers the request line and all headers.
    detail = 'the request line and headers together exceed the server limit';
  } else if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    kind = 'request-timeout';
    detail = 'the request did not arrive in time';
  }
  return new ProblemError(kind, detail);
}

/** Fastify's `clientErrorHandler`: answers with problem+json and closes the connection, as Node does. */
export function problemClientErrorHandler(
  this: FastifyInstance,
  error: Error & { code?: string },
  socket: Socket,
): void {
  // A reset connection has nobody left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const problem = clientErrorProblem(error.code);
  this.log.debug({ err: error }, 'client error');
  if (socket.writable) {
    const body = JSON.stringify(problem.body());
    socket.write(
      `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? ''}\r\n` +
        'Content-Type: application/problem+json\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  }
  socket.destroy(error);
}
