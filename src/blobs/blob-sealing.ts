/**
 * Blobs at rest, encrypted with the payload keys (HERALD_ENCRYPTION_KEYS), as the dead letters are: the
 * bytes are cut into frames of FRAME_BYTES, each sealed with AES-256-GCM (encryption/aes-gcm.ts) and
 * bound to its index and to whether it is the last, so frames cannot be reordered, dropped or cut off
 * without the read failing. Streamed both ways: one frame in memory.
 * Layout: `HBS1`, key id length (1 byte), key id, then per frame: sealed length (4 bytes, the top bit set
 * on the last frame) | sealed frame.
 */
import { Readable } from 'node:stream';
import type { EncryptionKey, Keyring } from '../encryption/keyring';
import type { BlobRecord } from './blob-store';
import { open, seal, SealedValueError } from '../encryption/aes-gcm';

const MAGIC = Buffer.from('HBS1');
export const FRAME_BYTES = 64 * 1024;
/** The bit of a frame's length that marks the last frame (also in its associated data, so it cannot be flipped). */
const LAST_FRAME = 0x80000000;

/** The sealed bytes of `source`, under `key`. */
export async function* sealFrames(source: AsyncIterable<Buffer>, key: EncryptionKey): AsyncGenerator<Buffer> {
  const id = Buffer.from(key.id, 'utf8');
  yield Buffer.concat([MAGIC, Buffer.from([id.length]), id]);
  let index = 0;
  const frame = (bytes: Buffer, last: boolean) => {
    const sealed = seal('blob', key, bytes, `${index++}/${last ? 1 : 0}`);
    const length = Buffer.allocUnsafe(4);
    length.writeUInt32BE((sealed.length | (last ? LAST_FRAME : 0)) >>> 0);
    return Buffer.concat([length, sealed]);
  };
  // A full frame is held until more bytes come: only then is it known not to be the last.
  let held: Buffer | undefined;
  let parts: Buffer[] = [];
  let filled = 0;
  for await (const piece of source) {
    let offset = 0;
    while (offset < piece.length) {
      const taken = Math.min(FRAME_BYTES - filled, piece.length - offset);
      parts.push(piece.subarray(offset, offset + taken));
      filled += taken;
      offset += taken;
      if (filled === FRAME_BYTES) {
        if (held) yield frame(held, false);
        held = Buffer.concat(parts, filled);
        parts = [];
        filled = 0;
      }
    }
  }
  if (filled > 0) {
    if (held) yield frame(held, false);
    yield frame(Buffer.concat(parts, filled), true);
  } else {
    yield frame(held ?? Buffer.alloc(0), true);
  }
}

/** The bytes `sealFrames` sealed, opened with whichever key of `keyring` its header names. */
export async function* openFrames(source: AsyncIterable<Buffer>, keyring: Keyring): AsyncGenerator<Buffer> {
  let buffered = Buffer.alloc(0);
  let keyId: string | undefined;
  let index = 0;
  let ended = false;
  const corrupt = (detail: string) => new SealedValueError(`sealed blob ${detail}`, keyId ?? '');
  for await (const piece of source) {
    buffered = buffered.length === 0 ? Buffer.from(piece) : Buffer.concat([buffered, piece]);
    if (keyId === undefined) {
      if (buffered.length < MAGIC.length + 1) continue;
      if (!buffered.subarray(0, MAGIC.length).equals(MAGIC)) throw corrupt('has no header');
      const idLength = buffered[MAGIC.length]!;
      if (buffered.length < MAGIC.length + 1 + idLength) continue;
      keyId = buffered.subarray(MAGIC.length + 1, MAGIC.length + 1 + idLength).toString('utf8');
      buffered = buffered.subarray(MAGIC.length + 1 + idLength);
    }
    while (buffered.length >= 4) {
      const word = buffered.readUInt32BE(0);
      const last = (word & LAST_FRAME) !== 0;
      const length = word & ~LAST_FRAME;
      if (length > FRAME_BYTES + 64) throw corrupt('has a frame longer than any it writes');
      if (buffered.length < 4 + length) break;
      if (ended) throw corrupt('has bytes after its last frame');
      const sealed = buffered.subarray(4, 4 + length);
      buffered = buffered.subarray(4 + length);
      const opened = open('blob', keyring, keyId, sealed, `${index}/${last ? 1 : 0}`);
      ended = last;
      index += 1;
      if (opened.length > 0) yield opened;
    }
  }
  if (!ended || buffered.length > 0) throw corrupt('is cut short');
}

/**
 * A stored blob's bytes as they were put: opened when its record names the key it was sealed with (a
 * blob put without a keyring is read as it is). Destroying the result releases `stored`.
 */
export function openedAtRest(stored: Readable, record: BlobRecord, keyring: Keyring | undefined): Readable {
  if (record.keyId === undefined) return stored;
  if (!keyring) {
    stored.destroy();
    throw new SealedValueError(
      `blob ${record.id} is encrypted with key ${JSON.stringify(record.keyId)}, and HERALD_ENCRYPTION_KEYS is not set`,
      record.keyId,
    );
  }
  const opened = Readable.from(openFrames(stored, keyring), { objectMode: false });
  opened.on('close', () => stored.destroy());
  return opened;
}
