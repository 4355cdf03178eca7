/**
 * Where a body goes when it arrives: small ones stay in the message (they ride in the workflow's
 * history), ones above HERALD_INLINE_BODY_BYTES go to the blob store and the message carries only their
 * reference. An upload is read up to the threshold in memory; past it, what was read and the rest of
 * the stream go to the store, so a 64 MiB body is never held whole.
 */
import { Readable } from 'node:stream';
import type { BlobRef } from '../contract/blob-ref';
import type { Message } from '../contract/message';
import type { BlobPutOptions, BlobRecord, BlobStore } from './blob-store';

export interface IntakeOptions extends Omit<BlobPutOptions, 'maxBytes'> {
  /** Bodies up to this many bytes stay inline. */
  inlineBytes: number;
  /** The largest body accepted (BlobTooLargeError beyond). */
  maxBytes: number;
}

export type IntakeResult = { kind: 'inline'; bytes: Buffer } | { kind: 'stored'; blob: BlobRecord };

/** Reads `source` up to `inlineBytes`; a longer one is streamed into the store from where it was. */
export async function intakeBody(
  source: AsyncIterable<Buffer | Uint8Array>,
  blobs: BlobStore,
  options: IntakeOptions,
): Promise<IntakeResult> {
  const iterator = source[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let headBytes = 0;
  for (;;) {
    const next = await iterator.next();
    if (next.done) return { kind: 'inline', bytes: Buffer.concat(head, headBytes) };
    const chunk = Buffer.from(next.value);
    head.push(chunk);
    headBytes += chunk.length;
    if (headBytes > options.inlineBytes) break;
  }
  // Past the threshold: the head read so far, then the rest of the same stream.
  async function* rest(): AsyncGenerator<Buffer> {
    yield* head.splice(0);
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield Buffer.from(next.value);
    }
  }
  const { inlineBytes: _inline, ...put } = options;
  return { kind: 'stored', blob: await blobs.put(rest(), put) };
}

/** A blob record as a message or reply carries it. */
export function blobRef(blob: BlobRecord): BlobRef {
  return { id: blob.id, size: blob.size, sha256: blob.sha256, contentType: blob.contentType };
}

/**
 * A JSON message whose body is above the threshold, with the body moved to the store (the API takes
 * JSON bodies up to HERALD_BODY_LIMIT_BYTES whole, so this one is in memory already). `rawLength` is
 * the request's length: a request no longer than the threshold cannot hold a longer body, and is not
 * serialised again to find out.
 */
export async function spillJsonBody(
  message: Message,
  rawLength: number,
  blobs: BlobStore,
  options: Omit<IntakeOptions, 'contentType' | 'kind' | 'messageId'>,
): Promise<{ message: Message; blob?: BlobRecord }> {
  if (rawLength <= options.inlineBytes) return { message };
  let bytes: Buffer;
  let contentType: string;
  if (message.bodyBase64 !== undefined) {
    bytes = Buffer.from(message.bodyBase64, 'base64');
    contentType = message.contentType ?? 'application/octet-stream';
  } else if (message.body !== undefined) {
    bytes = Buffer.from(JSON.stringify(message.body));
    contentType = message.contentType ?? 'application/json';
  } else {
    return { message };
  }
  if (bytes.length <= options.inlineBytes) return { message };
  const blob = await blobs.put(Readable.from([bytes]), {
    messageId: message.id,
    kind: 'body',
    contentType,
    ...(options.sender !== undefined ? { sender: options.sender } : {}),
    maxBytes: options.maxBytes,
  });
  const { body: _body, bodyBase64: _bodyBase64, ...rest } = message;
  return { message: { ...rest, bodyRef: blobRef(blob) }, blob };
}
