/**
 * What every ordering sequencer does (store/ordering-store.ts), whichever database holds it: one chain
 * per (destination, key) across stores that share it, one place per message, the predecessor's claim
 * time with each claim, and places pruned after their retention.
 */
import type { OrderingStore, OrderingStoreOptions } from '../../src/store/ordering-store';

export interface OrderingStoreHarness {
  /** A store over the shared database; each call is another host (or process) on it. */
  open(options?: OrderingStoreOptions): Promise<OrderingStore>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function describeOrderingStore(name: string, harness: OrderingStoreHarness): void {
  describe(`the ${name} ordering sequencer`, () => {
    test('claims form one chain per (destination, key); a retried claim answers the same place', async () => {
      const one = await harness.open();
      const two = await harness.open();
      try {
        expect(await one.claim('m1', 'a.example', 'k')).toMatchObject({ predecessor: null, seq: 1 });
        expect(await two.claim('m2', 'a.example', 'k')).toMatchObject({ predecessor: 'm1', seq: 2 });
        expect(await one.claim('m2', 'a.example', 'k')).toMatchObject({ predecessor: 'm1', seq: 2 });
        expect(await two.claim('m3', 'b.example', 'k')).toMatchObject({ predecessor: null, seq: 1 });
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

    test('a claim says when its predecessor claimed, the first and a retried claim too', async () => {
      const store = await harness.open();
      try {
        const before = Date.now();
        const first = await store.claim('t1', 'a.example', 'times');
        expect(first.predecessorClaimedAt).toBeNull();
        const second = await store.claim('t2', 'a.example', 'times');
        const at = Date.parse(second.predecessorClaimedAt!);
        expect(at).toBeGreaterThanOrEqual(before - 1_000);
        expect(at).toBeLessThanOrEqual(Date.now() + 1_000);
        expect(await store.claim('t2', 'a.example', 'times')).toEqual(second);
      } finally {
        await store.close();
      }
    });

    test('places past their retention are pruned; the key keeps its last message, so the chain goes on', async () => {
      const keep = await harness.open({ pruneEveryMs: 60 * 60_000 });
      const pruning = await harness.open({ placeRetentionMs: 200, pruneEveryMs: 0 });
      try {
        await keep.claim('p1', 'a.example', 'prune');
        await keep.claim('p2', 'a.example', 'prune');
        await sleep(400);
        // This claim prunes p1's and p2's places (older than 200 ms); p2 stays the key's last.
        const third = await pruning.claim('p3', 'a.example', 'prune');
        expect(third).toEqual({ predecessor: 'p2', seq: 3, predecessorClaimedAt: expect.any(String) });
        // The prune runs beside the claim (PostgreSQL: in the background).
        await sleep(300);
        // p1's place is gone: a claim under its id now takes a new place after p3.
        expect(await keep.claim('p1', 'a.example', 'prune')).toMatchObject({ predecessor: 'p3', seq: 4 });
        // p3's place is kept (it is younger than the retention), and a retried claim answers it.
        expect(await keep.claim('p3', 'a.example', 'prune')).toMatchObject({ predecessor: 'p2', seq: 3 });
        // The key's last message, its place pruned, claiming again keeps the last place: never itself ahead.
        await sleep(400);
        await pruning.claim('p5', 'a.example', 'other');
        await sleep(300);
        expect(await keep.claim('p1', 'a.example', 'prune')).toEqual({
          predecessor: null,
          seq: 4,
          predecessorClaimedAt: null,
        });
      } finally {
        await keep.close();
        await pruning.close();
      }
    });
  });
}
