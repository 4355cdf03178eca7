/** The file blob store: the contract on a fresh directory per test, and the sweep of files a dead put left. */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { keyringOf, readAll } from './blob-sealing.test-helpers';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newBlobId } from '../../src/blobs/blob-store';
import { openFileBlobStore } from '../../src/blobs/file-blob-store';
import { describeBlobStore, pseudoRandomBody } from './blob-store.contract';

const directories: string[] = [];
const newDirectory = () => {
  const directory = mkdtempSync(join(tmpdir(), 'herald-blobs-'));
  directories.push(directory);
  return directory;
};
afterAll(() => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

describeBlobStore('file', async () => {
  const directory = newDirectory();
  const store = openFileBlobStore(directory);
  return {
    store,
    close: async () => {
      await store.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
});

const KEYRING = keyringOf(`k1:${Buffer.alloc(32, 1).toString('base64')}`);

describeBlobStore('file (sealed at rest)', async () => {
  const directory = newDirectory();
  const store = openFileBlobStore(directory, { keyring: KEYRING });
  return {
    store,
    close: async () => {
      await store.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
});

test('sealed at rest: the file holds no byte of the body in the clear; the keys rotate; no key, no body', async () => {
  const directory = newDirectory();
  const marker = Buffer.from('planted-marker-in-a-blob-0b5e');
  const body = Buffer.concat([Buffer.alloc(100_000, 'x'), marker, Buffer.alloc(100_000, 'y')]);
  const options = { messageId: 'msg_1', kind: 'body' as const, contentType: 'text/plain', maxBytes: 1_000_000 };
  const underK1 = openFileBlobStore(directory, { keyring: KEYRING });
  const record = await underK1.put(Readable.from([body]), options);
  expect(record).toMatchObject({ size: body.length, keyId: 'k1' });
  expect(readFileSync(join(directory, `${record.id}.bin`)).includes(marker)).toBe(false);

  // Key 2 current, key 1 still held: the blob sealed under key 1 reads; new ones go under key 2.
  const k2 = `k2:${Buffer.alloc(32, 2).toString('base64')}`;
  const rotated = openFileBlobStore(directory, {
    keyring: keyringOf(`${k2},k1:${Buffer.alloc(32, 1).toString('base64')}`),
  });
  expect(Buffer.concat(await readAll(await rotated.open(record.id))).equals(body)).toBe(true);
  expect((await rotated.put(Readable.from([body]), options)).keyId).toBe('k2');

  // Without key 1, or without keys at all, it does not open.
  await expect(
    openFileBlobStore(directory, { keyring: keyringOf(k2) })
      .open(record.id)
      .then(readAll),
  ).rejects.toThrow(/key "k1"/);
  await expect(openFileBlobStore(directory).open(record.id)).rejects.toThrow(/HERALD_ENCRYPTION_KEYS is not set/);
});

test('the directory is made when missing, with its parents', async () => {
  const directory = join(newDirectory(), 'a', 'b');
  const store = openFileBlobStore(directory);
  const record = await store.put(pseudoRandomBody(10), {
    messageId: 'msg_1',
    kind: 'body',
    contentType: 'text/plain',
    maxBytes: 100,
  });
  expect(readdirSync(directory).sort()).toEqual([`${record.id}.bin`, `${record.id}.json`]);
});

test('files a dead put left are deleted once older than the cut and counted per blob; recent ones and others stay', async () => {
  const directory = newDirectory();
  const store = openFileBlobStore(directory);
  const kept = await store.put(pseudoRandomBody(1000), {
    messageId: 'msg_kept',
    kind: 'body',
    contentType: 'application/octet-stream',
    maxBytes: 10_000,
  });
  const hourAgo = new Date(Date.now() - 60 * 60_000);
  const plant = (name: string, old: boolean) => {
    writeFileSync(join(directory, name), 'partial');
    if (old) utimesSync(join(directory, name), hourAgo, hourAgo);
    return name;
  };
  const [dead, deadRenamed, deadBoth, bytesSwept, writing] = Array.from({ length: 5 }, newBlobId);
  const old = [
    plant(`${dead}.bin.part`, true),
    // Died between the bytes' rename and the record's.
    plant(`${deadRenamed}.bin`, true),
    plant(`${deadBoth}.bin`, true),
    plant(`${deadBoth}.json.part`, true),
    // A sweep took the .bin of a put between its two renames.
    plant(`${bytesSwept}.json`, true),
  ];
  const recent = [plant(`${writing}.bin.part`, false), plant('notes.txt', true)];

  const cut = new Date(Date.now() - 60_000).toISOString();
  expect(await store.listCreatedBefore(cut, 10)).toEqual({ blobs: [], abandoned: 4 });
  for (const name of old) expect(existsSync(join(directory, name))).toBe(false);
  for (const name of recent) expect(existsSync(join(directory, name))).toBe(true);
  expect(await store.listCreatedBefore(cut, 10)).toEqual({ blobs: [], abandoned: 0 });
  expect(await store.listCreatedBefore(new Date(Date.now() + 1000).toISOString(), 10)).toEqual({
    blobs: [kept],
    abandoned: 1,
  });
});

test('delete takes a partial blob too', async () => {
  const directory = newDirectory();
  const store = openFileBlobStore(directory);
  const id = newBlobId();
  writeFileSync(join(directory, `${id}.bin.part`), 'partial');
  expect(await store.delete(id)).toBe(true);
  expect(readdirSync(directory)).toEqual([]);
});
