/**
 * What every DeadLetterStore does, whatever holds it: idempotent writes per round, rounds, redrive and
 * discard marks, filters, pages and their cursors, retention. Run unchanged against SQLite
 * (sqlite-dead-letter-store.test.ts) and PostgreSQL (postgres-dead-letter-store.test.ts).
 */
import type { AttemptRecord } from '../../src/contract/message-status';
import {
  InvalidCursorError,
  type DeadLetterFilter,
  type DeadLetterRecord,
  type DeadLetterStore,
  type NewDeadLetter,
} from '../../src/store/dead-letter-store';

/** How a test file gives the suite its stores. */
export interface StoreSubject<S> {
  /** A store on new, empty storage (called before each test). */
  open(): Promise<S>;
  /** Another store on the storage of the last open(): what another process sees. */
  openAnother(): Promise<S>;
}

/** Defines the dead-letter store contract's tests for one implementation. */
export function describeDeadLetterStore(name: string, subject: StoreSubject<DeadLetterStore>): void {
  describe(`DeadLetterStore contract: ${name}`, () => {
    let store: DeadLetterStore;
    const opened: DeadLetterStore[] = [];
    const track = (each: DeadLetterStore) => {
      opened.push(each);
      return each;
    };
    const another = async () => track(await subject.openAnother());

    beforeEach(async () => {
      store = track(await subject.open());
    });
    afterEach(async () => {
      for (const each of opened.splice(0)) await each.close().catch(() => undefined);
    });

    const attempt: AttemptRecord = {
      round: 1,
      attempt: 1,
      outcome: 'permanent',
      status: 400,
      errorType: 'PermanentDeliveryError',
      cause: 'http_400',
      responseExcerpt: '{"error":"bad"}',
      durationMs: 12,
      nextDelayMs: null,
      startedAt: '2026-11-24T10:00:00.500Z',
      finishedAt: '2026-11-24T10:00:00.512Z',
    };

    function record(id: string, overrides: Partial<NewDeadLetter> = {}): NewDeadLetter {
      return {
        id,
        message: { id, destination: { url: 'https://api.example.com/hook' }, body: { n: 1 } },
        reason: 'permanent_error',
        lastError: { type: 'PermanentDeliveryError', message: 'destination answered HTTP 400' },
        attempts: [attempt],
        round: 1,
        destination: 'api.example.com',
        messageCreatedAt: '2026-11-24T10:00:00.000Z',
        deadLetteredAt: '2026-11-24T10:00:01.000Z',
        ...overrides,
      };
    }

    const at = (second: number) => new Date(Date.UTC(2026, 10, 24, 10, 0, second)).toISOString();
    const pad = (i: number) => `m${String(i).padStart(2, '0')}`;

    /** Walks every page of `filter`, returning the ids in order and the number of pages. */
    async function walk(filter: DeadLetterFilter): Promise<{ ids: string[]; pages: number }> {
      const ids: string[] = [];
      let cursor = filter.cursor;
      let pages = 0;
      do {
        const page = await store.list({ ...filter, cursor });
        ids.push(...page.records.map((r) => r.id));
        cursor = page.nextCursor ?? undefined;
        pages += 1;
        if (pages > 1000) throw new Error('pagination does not end');
      } while (cursor);
      return { ids, pages };
    }

    describe('put and get', () => {
      test('a record reads back exactly as written, with the stored fields filled in', async () => {
        const written = record('a', { lastError: null });
        expect(await store.put(written)).toEqual({ created: true });
        const expected: DeadLetterRecord = {
          ...written,
          kind: 'message',
          callback: null,
          state: 'dead_lettered',
          redrivenAt: null,
          redriveCount: 0,
        };
        expect(await store.get('a')).toEqual(expected);
        expect(await store.get('missing')).toBeUndefined();
      });

      test('a callback dead letter keeps its kind and callback', async () => {
        const callback = {
          messageId: 'a',
          url: 'https://sender.example.com/outcome',
          sender: 'ops',
          payload: { type: 'message.delivered', data: { id: 'a' } },
        };
        await store.put(record('a.callback.1', { kind: 'callback', callback, reason: 'callback_failed' }));
        expect(await store.get('a.callback.1')).toMatchObject({
          kind: 'callback',
          callback,
          reason: 'callback_failed',
        });
      });

      test('the same (id, round) written again is one record, and the second write answers created: false', async () => {
        expect(await store.put(record('a'))).toEqual({ created: true });
        expect(await store.put(record('a'))).toEqual({ created: false });
        // Even with different content: a retried write never changes the record.
        expect(
          await store.put(
            record('a', { reason: 'reply_timeout', deadLetteredAt: at(59), destination: 'other.example' }),
          ),
        ).toEqual({ created: false });
        expect(await store.get('a')).toMatchObject({
          id: 'a',
          reason: 'permanent_error',
          deadLetteredAt: '2026-11-24T10:00:01.000Z',
          destination: 'api.example.com',
          state: 'dead_lettered',
          round: 1,
          redriveCount: 0,
        });
        expect((await store.list()).records).toHaveLength(1);
      });

      test('concurrent writes of the same round make one record', async () => {
        const results = await Promise.all(Array.from({ length: 10 }, () => store.put(record('a'))));
        expect(results.filter((r) => r.created)).toHaveLength(1);
        expect((await store.list()).records.map((r) => r.id)).toEqual(['a']);
      });

      test('a higher round replaces the record and resets it to dead_lettered', async () => {
        await store.put(record('a'));
        await store.markRedriven('a', 1, '2026-11-24T11:00:00.000Z');
        expect((await store.get('a'))?.state).toBe('redriven');

        const round2 = record('a', {
          round: 2,
          reason: 'max_attempts_exhausted',
          lastError: { type: 'RetryableDeliveryError', message: 'destination answered HTTP 503' },
          attempts: [attempt, { ...attempt, round: 2, outcome: 'retryable', status: 503 }],
          deadLetteredAt: '2026-11-24T12:00:00.000Z',
        });
        expect(await store.put(round2)).toEqual({ created: true });
        expect(await store.get('a')).toMatchObject({
          state: 'dead_lettered',
          round: 2,
          reason: 'max_attempts_exhausted',
          lastError: round2.lastError,
          attempts: round2.attempts,
          deadLetteredAt: '2026-11-24T12:00:00.000Z',
          // The redrive that led here is still counted.
          redriveCount: 1,
        });
        expect((await store.list()).records).toHaveLength(1);
        // ...and the new round can be redriven in its turn.
        await store.markRedriven('a', 2, '2026-11-24T13:00:00.000Z');
        expect(await store.get('a')).toMatchObject({
          state: 'redriven',
          redriveCount: 2,
          redrivenAt: '2026-11-24T13:00:00.000Z',
        });
      });

      test('a higher round also replaces a record that was never redriven, or was discarded', async () => {
        await store.put(record('a'));
        expect(await store.put(record('a', { round: 3 }))).toEqual({ created: true });
        expect(await store.get('a')).toMatchObject({ round: 3, state: 'dead_lettered' });
        await store.markDiscarded('a', '2026-11-24T12:00:00.000Z');
        expect(await store.put(record('a', { round: 4 }))).toEqual({ created: true });
        expect(await store.get('a')).toMatchObject({ round: 4, state: 'dead_lettered' });
      });

      test('a late retry of an older round does not bring it back', async () => {
        await store.put(record('a', { round: 2, reason: 'max_attempts_exhausted' }));
        expect(await store.put(record('a', { round: 1 }))).toEqual({ created: false });
        expect(await store.get('a')).toMatchObject({ round: 2, reason: 'max_attempts_exhausted' });
      });
    });

    describe('state changes', () => {
      test('markRedriven is idempotent: the second call changes nothing', async () => {
        await store.put(record('a'));
        await store.markRedriven('a', 1, '2026-11-24T11:00:00.000Z');
        await store.markRedriven('a', 1, '2026-11-24T11:00:05.000Z');
        expect(await store.get('a')).toMatchObject({
          state: 'redriven',
          redriveCount: 1,
          redrivenAt: '2026-11-24T11:00:00.000Z',
        });
      });

      test('markRedriven of another round, or of a missing record, changes nothing', async () => {
        await store.put(record('a', { round: 2 }));
        await store.markRedriven('a', 1, '2026-11-24T11:00:00.000Z');
        await store.markRedriven('a', 3, '2026-11-24T11:00:00.000Z');
        expect(await store.get('a')).toMatchObject({ state: 'dead_lettered', redriveCount: 0, redrivenAt: null });
        await expect(store.markRedriven('missing', 1, '2026-11-24T11:00:00.000Z')).resolves.toBeUndefined();
        expect(await store.get('missing')).toBeUndefined();
      });

      test('markDiscarded marks only a dead-lettered record, idempotently', async () => {
        await store.put(record('a'));
        await store.markDiscarded('a', '2026-11-24T12:00:00.000Z');
        await store.markDiscarded('a', '2026-11-24T12:00:01.000Z');
        expect(await store.get('a')).toMatchObject({ state: 'discarded', redriveCount: 0 });
        // A discarded record cannot be redriven by the store.
        await store.markRedriven('a', 1, '2026-11-24T12:00:02.000Z');
        expect(await store.get('a')).toMatchObject({ state: 'discarded', redriveCount: 0 });
        // A redriven record cannot be discarded.
        await store.put(record('b'));
        await store.markRedriven('b', 1, '2026-11-24T12:00:03.000Z');
        await store.markDiscarded('b', '2026-11-24T12:00:04.000Z');
        expect((await store.get('b'))?.state).toBe('redriven');
      });
    });

    describe('waiting (what the metrics read)', () => {
      test('counts only the waiting ones, by reason and destination, with the oldest time', async () => {
        expect(await store.waiting()).toEqual({ groups: [], oldestDeadLetteredAt: null });
        await store.put(record('a', { deadLetteredAt: at(5) }));
        await store.put(record('b', { deadLetteredAt: at(3) }));
        await store.put(record('c', { reason: 'reply_timeout', deadLetteredAt: at(9) }));
        await store.put(record('d', { destination: 'other.example.com', deadLetteredAt: at(1) }));
        await store.put(record('e', { deadLetteredAt: at(7) }));
        await store.markRedriven('d', 1, at(20));
        await store.markDiscarded('e', at(21));
        const waiting = await store.waiting();
        const byKey = (g: { reason: string; destination: string }) => `${g.reason} ${g.destination}`;
        expect([...waiting.groups].sort((x, y) => byKey(x).localeCompare(byKey(y)))).toEqual([
          { reason: 'permanent_error', destination: 'api.example.com', count: 2 },
          { reason: 'reply_timeout', destination: 'api.example.com', count: 1 },
        ]);
        expect(waiting.oldestDeadLetteredAt).toBe(at(3));
        // Another connection (another API host) reads the same figures.
        expect((await (await another()).waiting()).groups).toHaveLength(2);
      });
    });

    describe('list', () => {
      /** 25 records, one per second: even ones permanent_error, odd ones reply_timeout; m00–m09 on a.example.com. */
      async function seed(): Promise<void> {
        for (let i = 0; i < 25; i++) {
          await store.put(
            record(pad(i), {
              reason: i % 2 === 0 ? 'permanent_error' : 'reply_timeout',
              destination: i < 10 ? 'a.example.com' : 'b.example.com',
              deadLetteredAt: at(i),
            }),
          );
        }
      }

      test('an empty store lists nothing', async () => {
        expect(await store.list()).toEqual({ records: [], nextCursor: null });
      });

      test('orders by dead-lettered time, oldest first, whatever the write order', async () => {
        for (const i of [3, 0, 4, 1, 2]) await store.put(record(pad(i), { deadLetteredAt: at(i) }));
        expect((await store.list()).records.map((r) => r.id)).toEqual(['m00', 'm01', 'm02', 'm03', 'm04']);
      });

      test('filters by reason', async () => {
        await seed();
        const { ids } = await walk({ reason: 'reply_timeout' });
        expect(ids).toEqual(Array.from({ length: 12 }, (_, i) => pad(2 * i + 1)));
        expect((await walk({ reason: 'deadline_exceeded' })).ids).toEqual([]);
      });

      test('filters by destination', async () => {
        await seed();
        expect((await walk({ destination: 'a.example.com' })).ids).toEqual(
          Array.from({ length: 10 }, (_, i) => pad(i)),
        );
        expect((await walk({ destination: 'b.example.com' })).ids).toHaveLength(15);
        expect((await walk({ destination: 'example.com' })).ids).toEqual([]);
      });

      test('filters by state', async () => {
        await seed();
        await store.markRedriven('m00', 1, '2026-11-24T11:00:00.000Z');
        await store.markRedriven('m07', 1, '2026-11-24T11:00:00.000Z');
        await store.markDiscarded('m03', '2026-11-24T11:00:00.000Z');
        expect((await walk({ state: 'redriven' })).ids).toEqual(['m00', 'm07']);
        expect((await walk({ state: 'discarded' })).ids).toEqual(['m03']);
        expect((await walk({ state: 'dead_lettered' })).ids).toHaveLength(22);
      });

      test('filters by kind', async () => {
        await store.put(record('a'));
        await store.put(record('a.callback.1', { kind: 'callback', reason: 'callback_failed', deadLetteredAt: at(5) }));
        expect((await walk({ kind: 'callback' })).ids).toEqual(['a.callback.1']);
        expect((await walk({ kind: 'message' })).ids).toEqual(['a']);
      });

      test('since is inclusive and until exclusive', async () => {
        await seed();
        expect((await walk({ since: at(5), until: at(10) })).ids).toEqual(['m05', 'm06', 'm07', 'm08', 'm09']);
        expect((await walk({ since: at(20) })).ids).toEqual(['m20', 'm21', 'm22', 'm23', 'm24']);
        expect((await walk({ until: at(3) })).ids).toEqual(['m00', 'm01', 'm02']);
        expect((await walk({ since: at(30) })).ids).toEqual([]);
        expect((await walk({ since: at(10), until: at(10) })).ids).toEqual([]);
      });

      test('filters combine', async () => {
        await seed();
        await store.markRedriven('m04', 1, '2026-11-24T11:00:00.000Z');
        expect(
          (
            await walk({
              reason: 'permanent_error',
              destination: 'a.example.com',
              state: 'dead_lettered',
              since: at(2),
              until: at(9),
            })
          ).ids,
        ).toEqual(['m02', 'm06', 'm08']);
      });

      test('pagination walks every record exactly once, in order', async () => {
        await seed();
        const all = Array.from({ length: 25 }, (_, i) => pad(i));
        for (const [limit, pages] of [
          [1, 25],
          [7, 4],
          [24, 2],
          [25, 1],
          [26, 1],
          [500, 1],
        ] as const) {
          expect(await walk({ limit })).toEqual({ ids: all, pages });
        }
      });

      test('the last full page says there is no next page', async () => {
        await seed();
        const first = await store.list({ limit: 20 });
        expect(first.records).toHaveLength(20);
        expect(first.nextCursor).toEqual(expect.any(String));
        const second = await store.list({ limit: 20, cursor: first.nextCursor! });
        expect(second.records.map((r) => r.id)).toEqual(['m20', 'm21', 'm22', 'm23', 'm24']);
        expect(second.nextCursor).toBeNull();
        expect((await store.list({ limit: 25 })).nextCursor).toBeNull();
      });

      test('pagination with a filter walks every matching record exactly once', async () => {
        await seed();
        expect(await walk({ reason: 'permanent_error', limit: 3 })).toEqual({
          ids: Array.from({ length: 13 }, (_, i) => pad(2 * i)),
          pages: 5,
        });
        expect(await walk({ destination: 'b.example.com', since: at(12), limit: 4 })).toEqual({
          ids: Array.from({ length: 13 }, (_, i) => pad(i + 12)),
          pages: 4,
        });
      });

      test('records dead-lettered in the same millisecond are neither skipped nor repeated across pages', async () => {
        const ids = Array.from({ length: 17 }, (_, i) => `same-${String.fromCharCode(97 + ((i * 7) % 17))}`);
        for (const id of ids) await store.put(record(id, { deadLetteredAt: at(1) }));
        await store.put(record('earlier', { deadLetteredAt: at(0) }));
        await store.put(record('later', { deadLetteredAt: at(2) }));
        for (const limit of [1, 2, 3, 5, 16]) {
          const { ids: seen } = await walk({ limit });
          expect(seen).toEqual(['earlier', ...[...ids].sort(), 'later']);
        }
      });

      test('a record added behind the cursor is not seen; one added ahead of it is', async () => {
        await seed();
        const first = await store.list({ limit: 10 });
        await store.put(record('behind', { deadLetteredAt: at(0) }));
        await store.put(record('ahead', { deadLetteredAt: at(40) }));
        const rest = await walk({ limit: 10, cursor: first.nextCursor! });
        expect(rest.ids).toEqual([...Array.from({ length: 15 }, (_, i) => pad(i + 10)), 'ahead']);
      });

      test('the page size defaults to 50 and is bounded to 1–500', async () => {
        for (let i = 0; i < 520; i++) {
          await store.put(record(`r${String(i).padStart(3, '0')}`, { deadLetteredAt: at(0) }));
        }
        expect((await store.list()).records).toHaveLength(50);
        expect((await store.list({ limit: 1000 })).records).toHaveLength(500);
        expect((await store.list({ limit: 0 })).records).toHaveLength(1);
        expect((await store.list({ limit: -5 })).records).toHaveLength(1);
        expect((await walk({ limit: 1000 })).ids).toHaveLength(520);
      });

      test('a cursor that is not ours is refused with InvalidCursorError', async () => {
        await seed();
        const b64 = (value: string) => Buffer.from(value).toString('base64url');
        for (const cursor of [
          'garbage',
          '!!!',
          b64('not json'),
          b64('[1,2]'),
          b64('["2026-11-24T10:00:00.000Z"]'),
          b64('["a","b","c"]'),
          b64('{"at":"2026-11-24T10:00:00.000Z","id":"m01"}'),
          b64('null'),
          b64('"m01"'),
          // Two strings, but the first no time: PostgreSQL would refuse it as a timestamp (a 500, not a 400).
          b64('["not a time","m01"]'),
        ]) {
          await expect(store.list({ cursor })).rejects.toBeInstanceOf(InvalidCursorError);
        }
        await expect(store.list({ cursor: 'garbage' })).rejects.toMatchObject({
          name: 'InvalidCursorError',
          message: 'invalid cursor',
        });
      });
    });

    describe('the storage', () => {
      test('a cursor from one store works on another opened on the same storage', async () => {
        for (let i = 0; i < 10; i++) await store.put(record(pad(i), { deadLetteredAt: at(i) }));
        const first = await store.list({ limit: 5 });
        const other = await another();
        const next = await other.list({ limit: 5, cursor: first.nextCursor! });
        expect(next.records.map((r) => r.id)).toEqual(['m05', 'm06', 'm07', 'm08', 'm09']);
      });

      test('what one store writes, another sees at once; concurrent writers of one round make one record', async () => {
        const other = await another();
        const results = await Promise.all([store, other, store, other].map((each) => each.put(record('a'))));
        expect(results.filter((r) => r.created)).toHaveLength(1);
        await other.markRedriven('a', 1, '2026-11-24T11:00:00.000Z');
        expect(await store.get('a')).toMatchObject({ state: 'redriven', redriveCount: 1 });
      });

      test('records survive closing and reopening', async () => {
        await store.put(record('kept'));
        await store.markRedriven('kept', 1, '2026-11-24T11:00:00.000Z');
        await store.close();
        const reopened = await another();
        expect(await reopened.get('kept')).toMatchObject({
          message: record('kept').message,
          state: 'redriven',
          redriveCount: 1,
        });
      });

      test('ping resolves and writes nothing; it fails once the store is closed', async () => {
        await expect(store.ping()).resolves.toBeUndefined();
        await expect(store.ping()).resolves.toBeUndefined();
        expect((await store.list()).records).toEqual([]);
        await store.close();
        await expect(store.ping()).rejects.toThrow();
      });
    });

    describe('retention (prune)', () => {
      const day = (d: number) => new Date(Date.UTC(2026, 10, d, 12)).toISOString();

      test('deletes redriven and discarded records decided before the cutoff, never a waiting one', async () => {
        await store.put(record('waiting-old', { deadLetteredAt: day(1) }));
        await store.put(record('redriven-old', { deadLetteredAt: day(1) }));
        await store.markRedriven('redriven-old', 1, day(2));
        await store.put(record('discarded-old', { deadLetteredAt: day(1) }));
        await store.markDiscarded('discarded-old', day(3));
        await store.put(record('redriven-new', { deadLetteredAt: day(1) }));
        await store.markRedriven('redriven-new', 1, day(20));
        await store.put(record('discarded-new', { deadLetteredAt: day(1) }));
        await store.markDiscarded('discarded-new', day(21));

        // Counted from the decision, not from when the message was dead-lettered.
        expect(await store.prune(day(10), 1000)).toBe(2);
        expect((await walk({})).ids.sort()).toEqual(['discarded-new', 'redriven-new', 'waiting-old']);
        expect(await store.prune(day(10), 1000)).toBe(0);
        // However old, a record still waiting for an operator stays.
        expect(await store.prune(day(30), 1000)).toBe(2);
        expect((await walk({})).ids).toEqual(['waiting-old']);
      });

      test('deletes at most batchSize records per call', async () => {
        for (let i = 0; i < 5; i++) {
          await store.put(record(pad(i), { deadLetteredAt: day(1) }));
          await store.markDiscarded(pad(i), day(2));
        }
        const counts = [];
        for (let call = 0; call < 4; call++) counts.push(await store.prune(day(10), 2));
        expect(counts).toEqual([2, 2, 1, 0]);
        expect((await store.list()).records).toEqual([]);
      });

      test('a record dead-lettered again after an old redrive waits again, and is kept', async () => {
        await store.put(record('a', { deadLetteredAt: day(1) }));
        await store.markRedriven('a', 1, day(2));
        await store.put(record('a', { round: 2, deadLetteredAt: day(3) }));
        expect(await store.prune(day(10), 1000)).toBe(0);
        expect(await store.get('a')).toMatchObject({ round: 2, state: 'dead_lettered' });
      });

      test('concurrent pruners delete each record once between them', async () => {
        for (let i = 0; i < 30; i++) {
          await store.put(record(`r${String(i).padStart(2, '0')}`, { deadLetteredAt: day(1) }));
          await store.markRedriven(`r${String(i).padStart(2, '0')}`, 1, day(2));
        }
        const other = await another();
        const pruneAll = async (each: DeadLetterStore) => {
          let total = 0;
          for (;;) {
            const deleted = await each.prune(day(10), 4);
            if (deleted === 0) return total;
            total += deleted;
          }
        };
        const [mine, theirs] = await Promise.all([pruneAll(store), pruneAll(other)]);
        expect(mine + theirs).toBe(30);
        expect((await store.list()).records).toEqual([]);
      });
    });
  });
}
