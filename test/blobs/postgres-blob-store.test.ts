/**
 * The PostgreSQL blob store: the contract on a real PostgreSQL (a database of its own per test), the
 * chunk rows a body becomes, and the sweep of rows a dead put left.
 */
import { Readable } from 'node:stream';
import { Pool } from 'pg';
import type { Keyring } from '../../src/encryption/keyring';
import { keyringOf, readAll } from './blob-sealing.test-helpers';
import { newBlobId, type BlobPutOptions } from '../../src/blobs/blob-store';
import { CHUNK_BYTES, createPostgresBlobStore } from '../../src/blobs/postgres-blob-store';
import { migratePostgres } from '../../src/store/postgres-migrations';
import { createTestDatabase, sqlOn } from '../helpers/postgres';
import { describeBlobStore, pseudoRandomBody } from './blob-store.contract';

const KEYRING = keyringOf(`k1:${Buffer.alloc(32, 1).toString('base64')}`);

const openOn = async (url: string, keyring?: Keyring) => {
  const pool = new Pool({ connectionString: url, max: 4 });
  const store = createPostgresBlobStore(pool, { keyring });
  return {
    store,
    close: async () => {
      await store.close();
      await pool.end();
    },
  };
};

const newDatabase = async () => {
  const url = await createTestDatabase('herald_blobs');
  await migratePostgres(url);
  return url;
};

const options: BlobPutOptions = {
  messageId: 'msg_pg',
  kind: 'body',
  contentType: 'application/octet-stream',
  maxBytes: 64 * 1024 * 1024,
};

describeBlobStore('PostgreSQL', async () => openOn(await newDatabase()));
describeBlobStore('PostgreSQL (sealed at rest)', async () => openOn(await newDatabase(), KEYRING));

test('sealed at rest, the chunk rows hold no byte of the body in the clear, and a blob put before reads too', async () => {
  const url = await newDatabase();
  const plain = await openOn(url);
  const sealed = await openOn(url, KEYRING);
  try {
    const marker = Buffer.from('planted-marker-in-a-blob-0b5e');
    const body = Buffer.concat([Buffer.alloc(200_000, 'x'), marker, Buffer.alloc(200_000, 'y')]);
    const record = await sealed.store.put(Readable.from([body]), options);
    expect(record).toMatchObject({ size: body.length, keyId: 'k1' });
    const rows = await sqlOn<{ data: Buffer }>(url, 'SELECT data FROM herald_blob_chunks WHERE blob_id = $1', [
      record.id,
    ]);
    expect(Buffer.concat(rows.map((row) => row.data)).includes(marker)).toBe(false);
    expect(Buffer.concat(await readAll(await sealed.store.open(record.id))).equals(body)).toBe(true);
    // Put before encryption was on: read as it is, by a store that has the keys.
    const before = await plain.store.put(Readable.from([body]), options);
    expect(before.keyId).toBeUndefined();
    expect(Buffer.concat(await readAll(await sealed.store.open(before.id))).equals(body)).toBe(true);
  } finally {
    await sealed.close();
    await plain.close();
  }
});

describe('the PostgreSQL blob store', () => {
  let url: string;
  let opened: Awaited<ReturnType<typeof openOn>>;
  beforeEach(async () => {
    url = await newDatabase();
    opened = await openOn(url);
  });
  afterEach(() => opened.close());

  test('a body is rows of CHUNK_BYTES in order, the last one shorter', async () => {
    const record = await opened.store.put(pseudoRandomBody(2 * CHUNK_BYTES + 5), options);
    const chunks = await sqlOn<{ seq: number; length: number }>(
      url,
      'SELECT seq, length(data) AS length FROM herald_blob_chunks WHERE blob_id = $1 ORDER BY seq',
      [record.id],
    );
    expect(chunks).toEqual([
      { seq: 0, length: CHUNK_BYTES },
      { seq: 1, length: CHUNK_BYTES },
      { seq: 2, length: 5 },
    ]);
    expect(await opened.store.delete(record.id)).toBe(true);
    expect(await sqlOn(url, 'SELECT count(*)::int AS n FROM herald_blob_chunks')).toEqual([{ n: 0 }]);
  });

  test('incomplete rows older than the cut are deleted with their chunks and counted; a recent one stays', async () => {
    const kept = await opened.store.put(pseudoRandomBody(100), options);
    const [dead, writing] = [newBlobId(), newBlobId()];
    await sqlOn(
      url,
      `INSERT INTO herald_blobs (id, message_id, kind, content_type, created_at) VALUES
         ($1, 'msg_dead', 'body', 'text/plain', now() - interval '1 hour'),
         ($2, 'msg_writing', 'body', 'text/plain', now())`,
      [dead, writing],
    );
    await sqlOn(url, "INSERT INTO herald_blob_chunks (blob_id, seq, data) VALUES ($1, 0, '\\x00'), ($2, 0, '\\x00')", [
      dead,
      writing,
    ]);
    const cut = new Date(Date.now() - 60_000).toISOString();
    expect(await opened.store.listCreatedBefore(cut, 10)).toEqual({ blobs: [], abandoned: 1 });
    const left = await sqlOn<{ blob_id: string }>(url, 'SELECT DISTINCT blob_id FROM herald_blob_chunks');
    expect(left.map((row) => row.blob_id).sort()).toEqual([kept.id, writing].sort());
    expect(await opened.store.get(writing)).toBeUndefined();
    expect(await opened.store.delete(writing)).toBe(true);
  });

  test('a blob deleted while it is read fails the stream rather than ending it short', async () => {
    const record = await opened.store.put(pseudoRandomBody(3 * CHUNK_BYTES), options);
    const stream = await opened.store.open(record.id);
    const reading = (async () => {
      let size = 0;
      for await (const piece of stream) {
        size += (piece as Buffer).length;
        if (size === CHUNK_BYTES) await opened.store.delete(record.id);
      }
      return size;
    })();
    await expect(reading).rejects.toMatchObject({ name: 'BlobNotFoundError', id: record.id });
  });
});
