/**
 * What every blob store does (blobs/blob-store.ts), wherever it keeps the bytes: a body streamed in
 * and out intact, a put that fails leaving nothing, deletes, and the sweeper's listing in id order.
 * Each test opens a store of its own, empty, so what it lists is only what the test put.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  BlobNotFoundError,
  BlobTooLargeError,
  newBlobId,
  type BlobPutOptions,
  type BlobRecord,
  type BlobStore,
} from '../../src/blobs/blob-store';

export interface OpenedBlobStore {
  store: BlobStore;
  /** Closes the store and removes what it kept. */
  close(): Promise<void>;
}

const MiB = 1024 * 1024;
const FAR_FUTURE = '9999-01-01T00:00:00.000Z';
const EMPTY_SHA256 = createHash('sha256').digest('hex');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const options = (overrides: Partial<BlobPutOptions> = {}): BlobPutOptions => ({
  messageId: 'msg_blob_contract',
  kind: 'body',
  contentType: 'application/octet-stream',
  maxBytes: 64 * MiB,
  ...overrides,
});

/** `total` pseudo-random bytes (xorshift from `seed`) in pieces of uneven sizes, so chunks split them. */
export async function* pseudoRandomBody(total: number, seed = 1): AsyncGenerator<Buffer> {
  const sizes = [65_536, 1, 333_333, MiB, 7, 2 * MiB + 3];
  let state = seed >>> 0 || 1;
  for (let sent = 0, turn = 0; sent < total; turn++) {
    const piece = Buffer.allocUnsafe(Math.min(sizes[turn % sizes.length]!, total - sent));
    for (let i = 0; i < piece.length; i++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      piece[i] = state & 0xff;
    }
    sent += piece.length;
    yield piece;
  }
}

/** Size and SHA-256 of what `source` yields, and its largest piece. */
export async function digest(source: AsyncIterable<Buffer | Uint8Array>) {
  const hash = createHash('sha256');
  let size = 0;
  let largest = 0;
  for await (const piece of source) {
    hash.update(piece);
    size += piece.byteLength;
    largest = Math.max(largest, piece.byteLength);
  }
  return { size, sha256: hash.digest('hex'), largest };
}

/** Wraps `source`, counting the bytes taken from it. */
function counted(source: AsyncIterable<Buffer>) {
  const counter = { taken: 0 };
  async function* body() {
    for await (const piece of source) {
      counter.taken += piece.length;
      yield piece;
    }
  }
  return { counter, body: body() };
}

const read = (stream: Readable) => digest(stream);

export function describeBlobStore(name: string, open: () => Promise<OpenedBlobStore>): void {
  describe(`the ${name} blob store`, () => {
    let opened: OpenedBlobStore;
    let store: BlobStore;
    beforeEach(async () => {
      opened = await open();
      store = opened.store;
    });
    afterEach(async () => {
      await opened.close();
    });

    /** Asserts the store holds no blob, complete or partial (a partial would be swept and counted). */
    const expectEmpty = async () => {
      expect(await store.listCreatedBefore(FAR_FUTURE, 100)).toEqual({ blobs: [], abandoned: 0 });
    };

    test('a 5 MiB body streams in and out intact, with its record', async () => {
      const total = 5 * MiB + 12_345;
      const expected = await digest(pseudoRandomBody(total));
      const before = Date.now();
      const record = await store.put(pseudoRandomBody(total), options({ sender: 'ops', kind: 'reply' }));
      // Size and SHA-256 are the body's own, whether or not the store seals it at rest (keyId).
      const { keyId, ...described } = record;
      expect(described).toEqual({
        id: expect.stringMatching(/^blob_[0-9a-z]{26}$/),
        messageId: 'msg_blob_contract',
        kind: 'reply',
        contentType: 'application/octet-stream',
        sender: 'ops',
        size: total,
        sha256: expected.sha256,
        createdAt: expect.any(String),
      });
      expect(keyId === undefined || typeof keyId === 'string').toBe(true);
      const createdAt = Date.parse(record.createdAt);
      expect(createdAt).toBeGreaterThanOrEqual(before - 1_000);
      expect(createdAt).toBeLessThanOrEqual(Date.now() + 1_000);
      expect(await store.get(record.id)).toEqual(record);
      const back = await read(await store.open(record.id));
      expect({ size: back.size, sha256: back.sha256 }).toEqual({ size: total, sha256: expected.sha256 });
      // Streamed, not handed over whole.
      expect(back.largest).toBeLessThanOrEqual(MiB);
    });

    test('an empty body is a blob of no bytes; a record without a sender has none', async () => {
      const record = await store.put((async function* () {})(), options({ contentType: 'text/plain' }));
      expect(record).toMatchObject({ size: 0, sha256: EMPTY_SHA256, contentType: 'text/plain' });
      expect(record).not.toHaveProperty('sender');
      expect(await store.get(record.id)).toEqual(record);
      expect(await read(await store.open(record.id))).toMatchObject({ size: 0, sha256: EMPTY_SHA256 });
    });

    test('a body of exactly maxBytes is kept; one byte more fails with BlobTooLargeError, leaving nothing', async () => {
      const exact = await store.put(pseudoRandomBody(MiB + 1), options({ maxBytes: MiB + 1 }));
      expect(exact.size).toBe(MiB + 1);
      await store.delete(exact.id);

      const { counter, body } = counted(pseudoRandomBody(8 * MiB));
      const failure = await store.put(body, options({ maxBytes: MiB })).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(BlobTooLargeError);
      expect(failure).toMatchObject({ name: 'BlobTooLargeError', maxBytes: MiB });
      // The put stopped reading at the limit, not at the end of the body.
      expect(counter.taken).toBeLessThan(4 * MiB);
      await expectEmpty();
    });

    test('a source that fails midway fails the put, leaving nothing', async () => {
      const broken = new Error('the client went away');
      async function* failing() {
        yield* pseudoRandomBody(3 * MiB);
        throw broken;
      }
      await expect(store.put(failing(), options())).rejects.toBe(broken);
      await expectEmpty();
    });

    test('an unknown id has no record and no bytes, a malformed one neither', async () => {
      for (const id of [newBlobId(), '../../etc/passwd', 'blob_']) {
        expect(await store.get(id)).toBeUndefined();
        const failure = await store.open(id).catch((error: unknown) => error);
        expect(failure).toBeInstanceOf(BlobNotFoundError);
        expect(failure).toMatchObject({ name: 'BlobNotFoundError', id });
        expect(await store.delete(id)).toBe(false);
      }
    });

    test('a deleted blob is gone: delete answers true, then false', async () => {
      const record = await store.put(pseudoRandomBody(100_000), options());
      const kept = await store.put(pseudoRandomBody(10), options());
      expect(await store.delete(record.id)).toBe(true);
      expect(await store.delete(record.id)).toBe(false);
      expect(await store.get(record.id)).toBeUndefined();
      await expect(store.open(record.id)).rejects.toBeInstanceOf(BlobNotFoundError);
      expect(await store.listCreatedBefore(FAR_FUTURE, 10)).toEqual({ blobs: [kept], abandoned: 0 });
    });

    test('complete blobs are listed in id order, paged after an id, and only those created before the cut', async () => {
      const records: BlobRecord[] = [];
      for (let i = 0; i < 5; i++) {
        records.push(await store.put(pseudoRandomBody(100 + i, i + 1), options({ messageId: `msg_${i}` })));
        // Distinct creation times, so a cut can fall between two puts.
        await sleep(15);
      }
      const byId = [...records].sort((a, b) => (a.id < b.id ? -1 : 1));
      const first = await store.listCreatedBefore(FAR_FUTURE, 2);
      expect(first).toEqual({ blobs: byId.slice(0, 2), abandoned: 0 });
      const second = await store.listCreatedBefore(FAR_FUTURE, 2, first.blobs[1]!.id);
      expect(second.blobs).toEqual(byId.slice(2, 4));
      const third = await store.listCreatedBefore(FAR_FUTURE, 2, second.blobs[1]!.id);
      expect(third.blobs).toEqual(byId.slice(4));
      expect((await store.listCreatedBefore(FAR_FUTURE, 2, third.blobs[0]!.id)).blobs).toEqual([]);

      // Strictly before: the third put's own time lists the first two only.
      const cut = records[2]!.createdAt;
      const early = records.slice(0, 2).sort((a, b) => (a.id < b.id ? -1 : 1));
      expect((await store.listCreatedBefore(cut, 10)).blobs).toEqual(early);
      expect((await store.listCreatedBefore(records[0]!.createdAt, 10)).blobs).toEqual([]);
    });

    test('a put still being written is neither listed nor swept; it completes after the sweep', async () => {
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let started!: () => void;
      const begun = new Promise<void>((resolve) => (started = resolve));
      async function* slow() {
        yield* pseudoRandomBody(MiB + 10, 7);
        started();
        await released;
        yield* pseudoRandomBody(MiB, 8);
      }
      const putting = store.put(slow(), options());
      await begun;
      await sleep(50);
      // A sweep takes partials older than its cut, which falls before this put began (a cut after it
      // would take the put for a dead one: the sweeper's cut is well in the past).
      expect(await store.listCreatedBefore(new Date(Date.now() - 60_000).toISOString(), 10)).toEqual({
        blobs: [],
        abandoned: 0,
      });
      release();
      const record = await putting;
      expect(record.size).toBe(2 * MiB + 10);
      expect((await read(await store.open(record.id))).size).toBe(2 * MiB + 10);
    });

    test('a put the sweep takes for a dead one (its cut after the put began) fails, leaving nothing', async () => {
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let started!: () => void;
      const begun = new Promise<void>((resolve) => (started = resolve));
      async function* stalled() {
        yield* pseudoRandomBody(MiB + 10, 7);
        started();
        await released;
        yield* pseudoRandomBody(MiB, 8);
      }
      const failed = store.put(stalled(), options()).then(
        () => undefined,
        (error: unknown) => error,
      );
      await begun;
      await sleep(50);
      expect(await store.listCreatedBefore(FAR_FUTURE, 10)).toEqual({ blobs: [], abandoned: 1 });
      release();
      // Not toBeInstanceOf(Error): fs errors come from outside jest's realm.
      expect(await failed).toMatchObject({ message: expect.any(String) });
      await expectEmpty();
    });

    test('puts at once each keep their own bytes', async () => {
      const records = await Promise.all(
        [1, 2, 3].map((seed) => store.put(pseudoRandomBody(MiB + seed * 1000, seed), options())),
      );
      for (const [i, record] of records.entries()) {
        const expected = await digest(pseudoRandomBody(MiB + (i + 1) * 1000, i + 1));
        expect(await read(await store.open(record.id))).toMatchObject({
          size: expected.size,
          sha256: expected.sha256,
        });
      }
    });
  });
}
