/**
 * A message with a large body, sent as `multipart/form-data` to POST /v1/messages: first a `message`
 * field (the message as JSON, as the JSON API takes it, without a body), then a `body` file (the raw
 * bytes, up to HERALD_MAX_BODY_BYTES). The envelope is read before validation, so it is checked by the
 * same schema as a JSON send; the body stays unread until the handler streams it (body-intake.ts).
 */
import type { Multipart, MultipartFile } from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import { ProblemError } from './problem';

declare module 'fastify' {
  interface FastifyRequest {
    /** The parts after the envelope of a multipart send (the body file), unread. */
    upload?: AsyncIterableIterator<Multipart>;
    /** The body file of a multipart send, once the route took it (drainUpload reads what is left of it). */
    uploadFile?: MultipartFile;
  }
  interface FastifyContextConfig {
    /** Takes multipart/form-data (the send route only); elsewhere a multipart request is a 415. */
    multipart?: boolean;
  }
}

/** The field names of a multipart send. */
export const UPLOAD_ENVELOPE_FIELD = 'message';
export const UPLOAD_BODY_FIELD = 'body';

/**
 * An upload that does not parse (no boundary, a part cut short, the form unterminated) is the client's
 * error: busboy says so with a plain Error, which would otherwise read as a 500. Errors @fastify/multipart
 * raises carry their own 4xx status and pass as they are.
 */
export function malformedUpload(error: unknown): unknown {
  if (error instanceof ProblemError || (error as { statusCode?: number }).statusCode !== undefined) return error;
  return new ProblemError('malformed-request', `the multipart upload is malformed: ${(error as Error).message}`);
}

/** The next part of an upload, a parse failure as the client's 400. */
const nextPart = (parts: AsyncIterableIterator<Multipart>) =>
  parts.next().catch((error: unknown) => {
    throw malformedUpload(error);
  });

const envelopeProblem = (message: string) =>
  new ProblemError('validation-failed', message, {
    errors: [{ field: `multipart:${UPLOAD_ENVELOPE_FIELD}`, message }],
  });

/** preValidation of the send route: a multipart request's envelope becomes the body the schema checks. */
export async function readUploadEnvelope(request: FastifyRequest): Promise<void> {
  if (!request.isMultipart()) return;
  let parts: AsyncIterableIterator<Multipart>;
  try {
    parts = request.parts();
  } catch (error) {
    throw malformedUpload(error); // busboy refuses a content type without a boundary at once
  }
  // Kept before any check, so a refusal drains what is left of the upload (drainUpload).
  request.upload = parts;
  const first = await nextPart(parts);
  if (!first.done && first.value.type === 'file') request.uploadFile = first.value;
  if (!first.done && first.value.type === 'field' && first.value.valueTruncated) {
    throw new ProblemError('payload-too-large', `the "${UPLOAD_ENVELOPE_FIELD}" field is over HERALD_BODY_LIMIT_BYTES`);
  }
  if (first.done || first.value.type !== 'field' || first.value.fieldname !== UPLOAD_ENVELOPE_FIELD) {
    throw envelopeProblem(
      `a multipart message starts with a "${UPLOAD_ENVELOPE_FIELD}" field (the message as JSON), then the "${UPLOAD_BODY_FIELD}" file`,
    );
  }
  // A field sent as application/json arrives parsed by @fastify/multipart; one sent as text, as text.
  const { value } = first.value;
  if (typeof value !== 'string') {
    request.body = value;
    return;
  }
  try {
    request.body = JSON.parse(value);
  } catch (error) {
    throw new ProblemError('invalid-json', `the "${UPLOAD_ENVELOPE_FIELD}" field: ${(error as Error).message}`);
  }
}

/** The body file of a multipart send, or undefined when it has none; refuses any other part. */
export async function uploadedBody(request: FastifyRequest): Promise<MultipartFile | undefined> {
  const parts = request.upload;
  if (!parts) return undefined;
  const next = await nextPart(parts);
  if (next.done) return undefined;
  if (next.value.type === 'file') request.uploadFile = next.value;
  if (next.value.type !== 'file' || next.value.fieldname !== UPLOAD_BODY_FIELD) {
    const message = `after the "${UPLOAD_ENVELOPE_FIELD}" field only a "${UPLOAD_BODY_FIELD}" file may follow`;
    throw new ProblemError('validation-failed', message, {
      errors: [{ field: `multipart:${next.value.fieldname}`, message }],
    });
  }
  return next.value;
}

/** Refuses anything after the body file (read once the body is stored). */
export async function noPartsAfterBody(request: FastifyRequest): Promise<void> {
  const next = request.upload && (await nextPart(request.upload));
  if (next && !next.done) {
    if (next.value.type === 'file') request.uploadFile = next.value;
    const message = `nothing may follow the "${UPLOAD_BODY_FIELD}" file`;
    throw new ProblemError('validation-failed', message, {
      errors: [{ field: `multipart:${next.value.fieldname}`, message }],
    });
  }
}

/**
 * After a refusal: reads and drops what is left of the upload, in the background, so the client can
 * finish sending and read the answer (a request left unread would stall it on a full socket), and the
 * connection stays usable.
 */
export function drainUpload(request: FastifyRequest): void {
  const parts = request.upload;
  if (!parts) return;
  request.upload = undefined;
  request.uploadFile?.file.resume();
  void (async () => {
    for await (const part of parts) if (part.type === 'file') part.file.resume();
  })().catch(() => undefined);
}

/** onRequest: multipart is for the send route only (every other route takes JSON). */
export async function refuseMultipartElsewhere(request: FastifyRequest): Promise<void> {
  if (request.routeOptions.config?.multipart) return;
  if (/^multipart\//i.test(request.headers['content-type'] ?? '')) {
    throw new ProblemError(
      'unsupported-media-type',
      'send application/json (multipart/form-data only to POST /v1/messages)',
    );
  }
}
