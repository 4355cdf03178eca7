/**
 * The blob store in PostgreSQL (HERALD_DATABASE_URL, migration 6), for a fleet: a blob is a row in
 * `herald_blobs` and its bytes rows of CHUNK_BYTES in `herald_blob_chunks`. Each chunk is its own
 * statement, so a put and a read hold one chunk in memory; the blob row is marked complete last.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Pool } from 'pg';
import type { BlobKind } from '../contract/blob-ref';
import type { Keyring } from '../encryption/keyring';
import { openedAtRest, sealFrames } from './blob-sealing';
import { BlobNotFoundError, BlobTooLargeError, newBlobId, type BlobRecord, type BlobStore } from './blob-store';

/** Bytes per chunk row: large enough that a 64 MiB body is 64 round trips, small enough to hold one. */
export const CHUNK_BYTES = 1024 * 1024;

interface BlobRow {
  id: string;
  message_id: string;
  kind: BlobKind;
  content_type: string;
  sender: string | null;
  size: string;
  sha256: string;
  created_at: Date;
  key_id: string | null;
}

const RECORD_COLUMNS = 'id, message_id, kind, content_type, sender, size, sha256, created_at, key_id';

/** The blob store over `pool` (already migrated: see open-stores.ts); close() leaves the pool to its owner. */
export function createPostgresBlobStore(pool: Pool, options: { keyring?: Keyring } = {}): BlobStore {
  const { keyring } = options;
  const get = async (id: string): Promise<BlobRecord | undefined> => {
    const { rows } = await pool.query<BlobRow>(
      `SELECT ${RECORD_COLUMNS} FROM herald_blobs WHERE id = $1 AND complete`,
      [id],
    );
    return rows[0] && toRecord(rows[0]);
  };

  return {
    kind: 'postgres',

    async put(source, options) {
      const id = newBlobId();
      await pool.query(
        'INSERT INTO herald_blobs (id, message_id, kind, content_type, sender) VALUES ($1, $2, $3, $4, $5)',
        [id, options.messageId, options.kind, options.contentType, options.sender ?? null],
      );
      try {
        const hash = createHash('sha256');
        // One buffer, reused: its bytes are on the wire once the chunk's INSERT has answered.
        const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
        let filled = 0;
        let seq = 0;
        let size = 0;
        const insertChunk = async (bytes: Buffer) => {
          await pool.query('INSERT INTO herald_blob_chunks (blob_id, seq, data) VALUES ($1, $2, $3)', [
            id,
            seq++,
            bytes,
          ]);
        };
        // Counted and hashed as the body arrives, then (with a keyring) sealed: the record describes the body.
        const counted = async function* () {
          for await (const piece of source) {
            size += piece.byteLength;
            if (size > options.maxBytes) throw new BlobTooLargeError(options.maxBytes);
            hash.update(piece);
            yield Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
          }
        };
        const stored = keyring ? sealFrames(counted(), keyring.current) : counted();
        // The source is not read while a chunk is being inserted: that is the backpressure.
        for await (const piece of stored) {
          let offset = 0;
          while (offset < piece.byteLength) {
            const taken = Math.min(CHUNK_BYTES - filled, piece.byteLength - offset);
            chunk.set(piece.subarray(offset, offset + taken), filled);
            filled += taken;
            offset += taken;
            if (filled === CHUNK_BYTES) {
              await insertChunk(chunk);
              filled = 0;
            }
          }
        }
        if (filled > 0) await insertChunk(chunk.subarray(0, filled));
        const sha256 = hash.digest('hex');
        // No row when the sweep took this put for a dead one (it was older than the sweep's cut).
        const { rows } = await pool.query<BlobRow>(
          `UPDATE herald_blobs SET size = $2, sha256 = $3, key_id = $4, complete = true WHERE id = $1 RETURNING ${RECORD_COLUMNS}`,
          [id, size, sha256, keyring?.current.id ?? null],
        );
        if (!rows[0]) throw new Error(`blob ${id} was deleted while it was being written`);
        return toRecord(rows[0]);
      } catch (error) {
        // Best effort: a row left behind (the database gone, say) is incomplete, and the sweep deletes it.
        await pool.query('DELETE FROM herald_blobs WHERE id = $1', [id]).catch(() => undefined);
        throw error;
      }
    },

    get,

    async open(id) {
      const record = await get(id);
      if (!record) throw new BlobNotFoundError(id);
      const { size } = record;
      const sealed = record.keyId !== undefined;
      async function* chunks() {
        let sent = 0;
        // Until the recorded size, not until a chunk is missing: a blob deleted while it is read fails
        // the stream rather than ending it short. Sealed bytes are longer than the body: they are read
        // to their last chunk, and the opening fails on a blob cut short.
        for (let seq = 0; sealed || sent < size; seq++) {
          const { rows } = await pool.query<{ data: Buffer }>(
            'SELECT data FROM herald_blob_chunks WHERE blob_id = $1 AND seq = $2',
            [id, seq],
          );
          const data = rows[0]?.data;
          if (!data && sealed) return;
          if (!data) throw new BlobNotFoundError(id);
          sent += data.length;
          yield data;
        }
      }
      // Bytes, not objects: the stream asks for the next chunk only once the last one is taken.
      return openedAtRest(Readable.from(chunks(), { objectMode: false }), record, keyring);
    },

    async delete(id) {
      const { rowCount } = await pool.query('DELETE FROM herald_blobs WHERE id = $1', [id]);
      return (rowCount ?? 0) > 0;
    },

    async listCreatedBefore(createdBefore, limit, afterId) {
      const { rowCount } = await pool.query('DELETE FROM herald_blobs WHERE NOT complete AND created_at < $1', [
        createdBefore,
      ]);
      const { rows } = await pool.query<BlobRow>(
        `SELECT ${RECORD_COLUMNS} FROM herald_blobs
         WHERE complete AND created_at < $1 AND id > $2
         ORDER BY id LIMIT $3`,
        // Every id is after '' (ids compare bytewise: COLLATE "C").
        [createdBefore, afterId ?? '', limit],
      );
      return { blobs: rows.map(toRecord), abandoned: rowCount ?? 0 };
    },

    async close() {},
  };
}

function toRecord(row: BlobRow): BlobRecord {
  return {
    id: row.id,
    messageId: row.message_id,
    kind: row.kind,
    contentType: row.content_type,
    ...(row.sender === null ? {} : { sender: row.sender }),
    // bigint arrives as a string; a blob is at most HERALD_MAX_BODY_BYTES, far below 2^53.
    size: Number(row.size),
    sha256: row.sha256,
    createdAt: row.created_at.toISOString(),
    ...(row.key_id === null ? {} : { keyId: row.key_id }),
  };
}
