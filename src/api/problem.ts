/**
 * RFC 9457 problem details: every error the API returns is `application/problem+json` with a stable
 * `type` per kind. Route code throws ProblemError (or a known domain error) and the app's one error
 * handler turns it into a response; nothing else writes error bodies.
 */
import type { FieldError } from '../contract/message';

/** The kinds of problem, each with its HTTP status and title. `type` is `urn:herald:problem:<kind>`. */
export const PROBLEMS = {
  'invalid-json': { status: 400, title: 'Malformed JSON' },
  'json-too-deep': { status: 400, title: 'JSON nested too deeply' },
  'malformed-request': { status: 400, title: 'Malformed HTTP request' },
  'api-key-in-query': { status: 400, title: 'An API key belongs in the Authorization header' },
  'validation-failed': { status: 400, title: 'The request does not match the schema' },
  unauthorized: { status: 401, title: 'Missing or unknown API key' },
  'invalid-signature': { status: 401, title: 'Missing or invalid reply signature' },
  forbidden: { status: 403, title: 'Not allowed for this API key' },
  'not-found': { status: 404, title: 'Not found' },
  'encryption-off': { status: 404, title: 'Payload encryption is off' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'request-timeout': { status: 408, title: 'The request took too long to arrive' },
  conflict: { status: 409, title: 'A message with this id exists with different content' },
  'reply-not-accepted': { status: 409, title: 'The reply was not accepted' },
  'redrive-not-allowed': { status: 409, title: 'The message cannot be redriven' },
  'message-ended': { status: 409, title: 'The message has already ended' },
  'subscribe-not-allowed': { status: 409, title: 'A callback cannot be registered for this message' },
  'precondition-failed': { status: 412, title: 'The resource is not at the version If-Match names' },
  'payload-too-large': { status: 413, title: 'Request body too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'header-fields-too-large': { status: 431, title: 'Request header fields too large' },
  'unprocessable-message': { status: 422, title: 'The message cannot be accepted' },
  'destination-not-allowed': { status: 422, title: 'The destination is not allowed' },
  'payload-not-decodable': { status: 422, title: 'A payload cannot be decoded' },
  'rate-limited': { status: 429, title: 'Too many requests' },
  'temporal-unavailable': { status: 503, title: 'Temporal is unavailable' },
  'store-unavailable': { status: 503, title: 'Herald’s store is unavailable' },
  'not-ready': { status: 503, title: 'Not ready' },
  'internal-error': { status: 500, title: 'Internal error' },
} as const;

export type ProblemKind = keyof typeof PROBLEMS;

/** Kinds that pass on their own, with the Retry-After (seconds) their responses carry. */
const RETRY_AFTER_SECONDS: Partial<Record<ProblemKind, number>> = {
  'temporal-unavailable': 2,
  'store-unavailable': 2,
  'rate-limited': 1,
};

export function problemType(kind: ProblemKind): string {
  return `urn:herald:problem:${kind}`;
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  /** For validation problems: each failing field as a JSON pointer and what is wrong with it. */
  errors?: FieldError[];
  [extension: string]: unknown;
}

/** An error that is a problem response. */
export class ProblemError extends Error {
  override name = 'ProblemError';
  constructor(
    readonly kind: ProblemKind,
    readonly detail?: string,
    readonly extensions: Record<string, unknown> = {},
    /** Overrides the kind's usual Retry-After (whole seconds), for a problem that knows when it passes. */
    readonly retryAfterSeconds?: number,
  ) {
    super(detail ?? PROBLEMS[kind].title);
  }

  get status(): number {
    return PROBLEMS[this.kind].status;
  }

  /** Headers the response carries besides the body (Retry-After for a problem that passes). */
  headers(): Record<string, string> {
    const retryAfter = this.retryAfterSeconds ?? RETRY_AFTER_SECONDS[this.kind];
    return retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) };
  }

  /** The problem as sent; `instance` is the request's path (its query is left out: it may hold a credential). */
  body(instance?: string): ProblemBody {
    const { status, title } = PROBLEMS[this.kind];
    const path = instance?.split('?')[0];
    return {
      type: problemType(this.kind),
      title,
      status,
      ...(this.detail ? { detail: this.detail } : {}),
      ...(path ? { instance: path } : {}),
      ...this.extensions,
    };
  }
}
