/** The checked read of a blob: bytes pass as stored; a changed body fails before its last chunk goes out. */
import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { BlobIntegrityError, verifiedRead } from '../../src/blobs/verified-read';
import { classifyTransportError } from '../../src/retry/classify';

const chunks = [Buffer.from('first chunk, '), Buffer.from('second chunk, '), Buffer.from('last chunk')];
const bytes = Buffer.concat(chunks);
const ref = {
  id: 'blob_0123456789abcdefghjkmnpqrs',
  size: bytes.length,
  sha256: createHash('sha256').update(bytes).digest('hex'),
  contentType: 'text/plain',
};

async function readAll(stream: Readable): Promise<{ out: Buffer; error?: unknown }> {
  const out: Buffer[] = [];
  try {
    for await (const chunk of stream) out.push(chunk as Buffer);
    return { out: Buffer.concat(out) };
  } catch (error) {
    return { out: Buffer.concat(out), error };
  }
}

test('the stored bytes pass unchanged', async () => {
  expect(await readAll(verifiedRead(Readable.from(chunks), ref))).toEqual({ out: bytes });
});

test('other bytes, fewer or more fail as body_corrupt, and the last chunk is never passed on', async () => {
  const changed = [chunks[0]!, Buffer.from('SECOND chunk, '), chunks[2]!];
  for (const [source, detail] of [
    [changed, /sha256/],
    [chunks.slice(0, 2), /bytes, not/],
    [[...chunks, Buffer.from('!')], /more than/],
  ] as const) {
    const { out, error } = await readAll(verifiedRead(Readable.from(source), ref));
    expect(error).toBeInstanceOf(BlobIntegrityError);
    expect((error as Error).message).toMatch(detail);
    expect(out.includes(Buffer.from('last chunk'))).toBe(false);
    expect(classifyTransportError({ message: 'request failed', cause: error })).toEqual({
      outcome: 'permanent',
      cause: 'body_corrupt',
    });
  }
});

test('a reader that stops early releases the source', async () => {
  const source = new PassThrough();
  const checked = verifiedRead(source, ref);
  source.write(chunks[0]);
  checked.destroy();
  await new Promise((resolve) => setImmediate(resolve));
  expect(source.destroyed).toBe(true);
});
