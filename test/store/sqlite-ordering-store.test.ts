/** The SQLite ordering sequencer: one chain per key and destination, idempotent per message, shared by processes. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteOrderingStore } from '../../src/store/sqlite-ordering-store';

const dir = mkdtempSync(join(tmpdir(), 'herald-ordering-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('claims form one chain per (destination, key); a retried claim answers the same place', async () => {
  const path = join(dir, 'dead-letters.sqlite');
  const one = openSqliteOrderingStore(path);
  const two = openSqliteOrderingStore(path);
  try {
    expect(await one.claim('m1', 'a.example', 'k')).toEqual({ predecessor: null, seq: 1 });
    expect(await two.claim('m2', 'a.example', 'k')).toEqual({ predecessor: 'm1', seq: 2 });
    expect(await one.claim('m2', 'a.example', 'k')).toEqual({ predecessor: 'm1', seq: 2 });
    expect(await two.claim('m3', 'b.example', 'k')).toEqual({ predecessor: null, seq: 1 });
    const claims = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? one : two).claim(`c${i}`, 'a.example', 'burst')),
    );
    const byPredecessor = new Map(claims.map((c, i) => [c.predecessor, `c${i}`]));
    expect(claims.map((c) => c.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(byPredecessor.size).toBe(20);
  } finally {
    await one.close();
    await two.close();
  }
});
