/**
 * A blob's bytes as they go on the wire, checked on the way: the count and SHA-256 must match the
 * reference the message carries, or the stream fails with BlobIntegrityError before its last byte (so
 * the destination sees a cut request, never a complete wrong body).
 */
import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import type { BlobRef } from '../contract/blob-ref';

/** The stored bytes are not the ones the message was accepted with. `code` is what classify.ts reads. */
export class BlobIntegrityError extends Error {
  override name = 'BlobIntegrityError';
  readonly code = 'EBLOBINTEGRITY';
  constructor(ref: BlobRef, detail: string) {
    super(`blob ${ref.id} does not match its reference: ${detail}`);
  }
}

/** `source` piped through a check against `ref`; the last chunk is held back until the check passes. */
export function verifiedRead(source: Readable, ref: BlobRef): Readable {
  const hash = createHash('sha256');
  let size = 0;
  let held: Buffer | undefined;
  const check = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      hash.update(chunk);
      if (size > ref.size) return done(new BlobIntegrityError(ref, `more than ${ref.size} bytes`));
      const previous = held;
      held = chunk;
      done(null, previous);
    },
    flush(done) {
      if (size !== ref.size) return done(new BlobIntegrityError(ref, `${size} bytes, not ${ref.size}`));
      const sha256 = hash.digest('hex');
      if (sha256 !== ref.sha256) return done(new BlobIntegrityError(ref, `sha256 ${sha256}, not ${ref.sha256}`));
      done(null, held);
    },
  });
  source.on('error', (error) => check.destroy(error));
  // A request cut short (a timeout, a cancel, a failed check) destroys only what it reads: the file
  // (or query) underneath is released with it, not when the garbage collector finds it.
  check.on('close', () => source.destroy());
  return source.pipe(check);
}
