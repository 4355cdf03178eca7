/** Blob frames sealed at rest: every length round-trips; reordered, dropped, cut or altered frames do not open. */
import { FRAME_BYTES, openFrames, sealFrames } from '../../src/blobs/blob-sealing';
import { SealedValueError } from '../../src/encryption/aes-gcm';
import { keyringOf, readAll } from './blob-sealing.test-helpers';

const K1 = `k1:${Buffer.alloc(32, 1).toString('base64')}`;
const keyring = keyringOf(K1);
const key = keyring.current;

async function* pieces(bytes: Buffer, size = 10_000) {
  for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size);
}
const bodyOf = (length: number) => Buffer.from(Array.from({ length }, (_, i) => (i * 31 + 7) % 251));
const sealedOf = async (body: Buffer) => Buffer.concat(await readAll(sealFrames(pieces(body), key)));
const openedOf = async (sealed: Buffer) => Buffer.concat(await readAll(openFrames(pieces(sealed, 7_000), keyring)));

test('a body of any length comes back as it went in, and none of it shows in the sealed bytes', async () => {
  for (const length of [0, 1, FRAME_BYTES - 1, FRAME_BYTES, FRAME_BYTES + 1, 3 * FRAME_BYTES, 200_000]) {
    const body = bodyOf(length);
    const sealed = await sealedOf(body);
    expect(sealed.length).toBeGreaterThan(length);
    expect((await openedOf(sealed)).equals(body)).toBe(true);
    if (length >= 64) expect(sealed.includes(body.subarray(0, 64))).toBe(false);
  }
});

/** The frames of sealed bytes: the header, then each frame with its length word. */
function framesOf(sealed: Buffer): { header: Buffer; frames: Buffer[] } {
  const headerLength = 4 + 1 + sealed[4]!;
  const frames: Buffer[] = [];
  for (let offset = headerLength; offset < sealed.length;) {
    const length = sealed.readUInt32BE(offset) & 0x7fffffff;
    frames.push(sealed.subarray(offset, offset + 4 + length));
    offset += 4 + length;
  }
  return { header: sealed.subarray(0, headerLength), frames };
}

test('frames reordered, dropped, cut off or altered, or a key not held, fail to open', async () => {
  const sealed = await sealedOf(bodyOf(3 * FRAME_BYTES + 10));
  const { header, frames } = framesOf(sealed);
  expect(frames).toHaveLength(4);
  const altered = Buffer.from(sealed);
  altered.writeUInt8(altered.readUInt8(header.length + 100) ^ 1, header.length + 100);
  const lastFlagCleared = Buffer.from(sealed);
  const lastOffset = sealed.length - frames[3]!.length;
  lastFlagCleared.writeUInt32BE(lastFlagCleared.readUInt32BE(lastOffset) & 0x7fffffff, lastOffset);
  for (const broken of [
    Buffer.concat([header, frames[1]!, frames[0]!, frames[2]!, frames[3]!]), // reordered
    Buffer.concat([header, frames[0]!, frames[2]!, frames[3]!]), // one dropped
    Buffer.concat([header, frames[0]!, frames[1]!, frames[2]!]), // cut before the last
    sealed.subarray(0, sealed.length - 5), // cut inside the last
    altered,
    lastFlagCleared, // the last frame passed off as a middle one
    Buffer.concat([sealed, frames[3]!]), // bytes after the last
  ]) {
    await expect(openedOf(broken)).rejects.toBeInstanceOf(SealedValueError);
  }
  const otherKeyring = keyringOf(`k2:${Buffer.alloc(32, 2).toString('base64')}`);
  await expect(readAll(openFrames(pieces(sealed), otherKeyring))).rejects.toThrow(/key "k1"/);
});
