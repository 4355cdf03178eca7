/**
 * The blob store: where bodies too large to ride in a workflow's history live (HERALD_BLOB_STORE). A
 * directory on the embedded default (file-blob-store.ts), PostgreSQL in a fleet (postgres-blob-store.ts),
 * both behind this interface. Bytes go in and out as streams: a 64 MiB body is never held in memory.
 */
import type { Readable } from 'node:stream';
import type { BlobKind, BlobRef } from '../contract/blob-ref';
import { newId } from '../contract/ids';

/** A stored blob: its reference and what it belongs to. */
export interface BlobRecord extends BlobRef {
  /** The message it belongs to (the blob sweeper asks Temporal about it). */
  messageId: string;
  kind: BlobKind;
  /** The API key name that sent the message, when known: pointers to it are signed with its callback secret. */
  sender?: string;
  createdAt: string;
  /** The key its bytes are sealed with at rest (HERALD_ENCRYPTION_KEYS); absent: kept as they came. */
  keyId?: string;
}

export interface BlobPutOptions {
  messageId: string;
  kind: BlobKind;
  contentType: string;
  sender?: string;
  /** More bytes than this and the put fails with BlobTooLargeError, leaving nothing behind. */
  maxBytes: number;
}

export interface BlobStore {
  readonly kind: 'file' | 'postgres';
  /**
   * Streams `source` into a new blob, counting and hashing as it goes; answers its record once every
   * byte is durable. A source that fails, or passes `maxBytes`, leaves no blob (and no partial one).
   */
  put(source: AsyncIterable<Buffer | Uint8Array>, options: BlobPutOptions): Promise<BlobRecord>;
  /** The record of a complete blob; undefined when there is none (never written, deleted, or still being written). */
  get(id: string): Promise<BlobRecord | undefined>;
  /** The bytes of a complete blob, streamed; BlobNotFoundError when there is none. */
  open(id: string): Promise<Readable>;
  /** Deletes a blob (complete or partial); false when there was none. */
  delete(id: string): Promise<boolean>;
  /**
   * Complete blobs created before `createdBefore` (ISO time), in id order after `afterId`, at most
   * `limit`: what the blob sweeper looks at. Partial blobs older than that are deleted on the way (a
   * put that died with its process), and their count is answered as `abandoned`.
   */
  listCreatedBefore(
    createdBefore: string,
    limit: number,
    afterId?: string,
  ): Promise<{ blobs: BlobRecord[]; abandoned: number }>;
  close(): Promise<void>;
}

/** The body would pass HERALD_MAX_BODY_BYTES (the API answers 413). */
export class BlobTooLargeError extends Error {
  override name = 'BlobTooLargeError';
  constructor(readonly maxBytes: number) {
    super(`the body is larger than ${maxBytes} bytes (HERALD_MAX_BODY_BYTES)`);
  }
}

/** No complete blob has this id. */
export class BlobNotFoundError extends Error {
  override name = 'BlobNotFoundError';
  constructor(readonly id: string) {
    super(`no blob ${id}`);
  }
}

/** A new blob id: `blob_` and 26 random base32 characters (130 bits), as message ids are. */
export function newBlobId(): string {
  return newId('blob');
}
