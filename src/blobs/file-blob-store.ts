/**
 * The blob store in a directory (the embedded default): a blob is `<id>.bin` (its bytes) and
 * `<id>.json` (its record). Each is written as `<name>.part`, synced and renamed, and the record goes
 * last, so a record on disk always names a complete, durable file; anything else is a put in progress
 * or one that died, and the sweep deletes it once it is old.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, readdir, readFile, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BLOB_ID_PATTERN } from '../contract/blob-ref';
import type { Keyring } from '../encryption/keyring';
import { openedAtRest, sealFrames } from './blob-sealing';
import { BlobNotFoundError, BlobTooLargeError, newBlobId, type BlobRecord, type BlobStore } from './blob-store';

const BLOB_ID = new RegExp(BLOB_ID_PATTERN);
/** A file of the store: the id, what it holds, and whether it is still being written. */
const BLOB_FILE = /^(blob_[0-9a-z]{26})\.(bin|json)(\.part)?$/;

/**
 * The blob store in `directory` (made when missing); close() has nothing to release. With `keyring`,
 * bytes are sealed at rest with its current key (blob-sealing.ts); the record's size and SHA-256 are
 * the body's own.
 */
export function openFileBlobStore(directory: string, options: { keyring?: Keyring } = {}): BlobStore {
  const { keyring } = options;
  mkdirSync(directory, { recursive: true });
  const path = (id: string, suffix: string) => join(directory, `${id}${suffix}`);
  // Ids become file names: anything but a blob id (a `../`, say) names no blob.
  const known = (id: string) => BLOB_ID.test(id);

  const readRecord = async (id: string): Promise<BlobRecord | undefined> => {
    if (!known(id)) return undefined;
    try {
      return JSON.parse(await readFile(path(id, '.json'), 'utf8')) as BlobRecord;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  };

  return {
    kind: 'file',

    async put(source, options) {
      const id = newBlobId();
      const createdAt = new Date().toISOString();
      const hash = createHash('sha256');
      let size = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          size += chunk.length;
          if (size > options.maxBytes) return callback(new BlobTooLargeError(options.maxBytes));
          hash.update(chunk);
          callback(null, chunk);
        },
      });
      try {
        // The pipeline pulls from the source only as fast as the file takes it. Written through the
        // handle, not a WriteStream: a stream on a FileHandle holds it open until the stream closes it,
        // which would be before the sync.
        await writeDurably(path(id, '.bin.part'), (file) =>
          pipeline(source, counter, async (chunks: AsyncIterable<Buffer>) => {
            for await (const chunk of keyring ? sealFrames(chunks, keyring.current) : chunks) {
              await writeAll(file, chunk);
            }
          }),
        );
        await rename(path(id, '.bin.part'), path(id, '.bin'));
        const record: BlobRecord = {
          id,
          messageId: options.messageId,
          kind: options.kind,
          contentType: options.contentType,
          ...(options.sender === undefined ? {} : { sender: options.sender }),
          size,
          sha256: hash.digest('hex'),
          createdAt,
          ...(keyring ? { keyId: keyring.current.id } : {}),
        };
        await writeDurably(path(id, '.json.part'), (file) => file.writeFile(JSON.stringify(record)));
        await rename(path(id, '.json.part'), path(id, '.json'));
        // A rename is durable once its directory is synced.
        await syncDirectory(directory);
        return record;
      } catch (error) {
        await Promise.all(
          ['.json', '.json.part', '.bin', '.bin.part'].map((suffix) => removeIfPresent(path(id, suffix))),
        );
        throw error;
      }
    },

    get: readRecord,

    async open(id) {
      const record = await readRecord(id);
      if (!record) throw new BlobNotFoundError(id);
      // Opened here, not on the stream's first read, so a blob deleted meanwhile fails this call.
      const file = await open(path(id, '.bin'), 'r').catch((error: unknown) => {
        throw isMissing(error) ? new BlobNotFoundError(id) : error;
      });
      return openedAtRest(file.createReadStream(), record, keyring);
    },

    async delete(id) {
      if (!known(id)) return false;
      // The record first: from then on the blob is not complete, whatever else fails (the sweep
      // deletes a .bin left without its record).
      let removed = false;
      for (const suffix of ['.json', '.bin', '.json.part', '.bin.part']) {
        if (await removeIfPresent(path(id, suffix))) removed = true;
      }
      return removed;
    },

    async listCreatedBefore(createdBefore, limit, afterId) {
      const cut = Date.parse(createdBefore);
      const files = new Map<string, Set<string>>();
      for (const name of await readdir(directory)) {
        const match = BLOB_FILE.exec(name);
        if (!match) continue;
        const id = match[1]!;
        const names = files.get(id) ?? new Set<string>();
        names.add(`${match[2]!}${match[3] ?? ''}`);
        files.set(id, names);
      }

      let abandoned = 0;
      const complete: string[] = [];
      for (const [id, names] of files) {
        if (names.has('json') && names.has('bin')) {
          complete.push(id);
          continue;
        }
        // A put still writing (its files are recent) or one that died (they are old). A record without
        // its bytes is no put's: only a sweep with a cut after a put began, deleting its .bin between
        // the two renames, leaves one.
        let removedAny = false;
        for (const name of names) {
          const file = path(id, `.${name}`);
          const stats = await stat(file).catch((error: unknown) => {
            if (isMissing(error)) return undefined;
            throw error;
          });
          if (stats && stats.mtimeMs < cut && (await removeIfPresent(file))) removedAny = true;
        }
        if (removedAny) abandoned++;
      }

      complete.sort(compareIds);
      const blobs: BlobRecord[] = [];
      for (const id of complete) {
        if (blobs.length >= limit) break;
        if (afterId !== undefined && compareIds(id, afterId) <= 0) continue;
        // Deleted since the directory was read: skipped.
        const record = await readRecord(id);
        if (record && Date.parse(record.createdAt) < cut) blobs.push(record);
      }
      return { blobs, abandoned };
    },

    async close() {},
  };
}

/** Creates `file` (it must not exist), lets `write` fill it, and syncs it to disk before closing. */
async function writeDurably(file: string, write: (handle: FileHandle) => Promise<void>): Promise<void> {
  const handle = await open(file, 'wx');
  try {
    await write(handle);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes all of `bytes` at the file's position (a write may take fewer bytes than it was given). */
async function writeAll(file: FileHandle, bytes: Buffer): Promise<void> {
  for (let offset = 0; offset < bytes.length;) offset += (await file.write(bytes, offset)).bytesWritten;
}

async function syncDirectory(directory: string): Promise<void> {
  // Windows cannot open a directory for syncing (and its renames need no such step).
  if (process.platform === 'win32') return;
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Deletes `file`; false when it was not there. */
async function removeIfPresent(file: string): Promise<boolean> {
  try {
    await unlink(file);
    return true;
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
}

const isMissing = (error: unknown) => (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';

/** Bytewise, as PostgreSQL's COLLATE "C" compares them, so both stores page in the same order. */
const compareIds = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
