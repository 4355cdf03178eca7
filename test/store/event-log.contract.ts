/**
 * What every EventLog does, whatever holds it: order by id, idempotent appends, a loud refusal of a
 * second state under one number, filters, latest and lastId, retention, and the watch hint. Run
 * unchanged against SQLite (sqlite-event-log.test.ts) and PostgreSQL (postgres-event-log.test.ts).
 */
import { EventSeqConflictError, type EventLog, type NewMessageEvent } from '../../src/store/event-log';
import { eventually } from '../helpers/eventually';
import type { StoreSubject } from './dead-letter-store.contract';

/** Defines the event log contract's tests for one implementation. */
export function describeEventLog(name: string, subject: StoreSubject<EventLog>): void {
  describe(`EventLog contract: ${name}`, () => {
    let log: EventLog;
    const opened: EventLog[] = [];
    const track = (each: EventLog) => {
      opened.push(each);
      return each;
    };
    const another = async () => track(await subject.openAnother());

    beforeEach(async () => {
      log = track(await subject.open());
    });
    afterEach(async () => {
      for (const each of opened.splice(0)) await each.close().catch(() => undefined);
    });

    function event(seq: number, state: string, extra: Partial<NewMessageEvent> = {}): NewMessageEvent {
      return {
        messageId: 'msg-1',
        runId: 'run-1',
        seq,
        state,
        destination: 'api.example.com',
        sender: 'ci',
        at: `2030-01-01T00:00:0${seq}.000Z`,
        ...extra,
      };
    }

    const states = async (messageId = 'msg-1') =>
      (await log.read({ afterId: 0, messageId })).map((e) => [e.runId, e.seq, e.state]);

    test('events are read back in the order they were appended, with their log positions', async () => {
      await log.append(event(1, 'accepted'));
      await log.append(event(2, 'delivering'));
      await log.append(event(1, 'accepted', { messageId: 'msg-2' }));
      const read = await log.read({ afterId: 0 });
      expect(read.map((e) => [e.messageId, e.seq, e.state])).toEqual([
        ['msg-1', 1, 'accepted'],
        ['msg-1', 2, 'delivering'],
        ['msg-2', 1, 'accepted'],
      ]);
      expect(read.map((e) => e.id)).toEqual([...read.map((e) => e.id)].sort((a, b) => a - b));
      expect(await log.lastId()).toBe(read[2]!.id);
      expect(await log.latest('msg-1')).toMatchObject({ seq: 2, state: 'delivering', sender: 'ci' });
      expect(await log.read({ afterId: read[0]!.id, messageId: 'msg-1' })).toHaveLength(1);
    });

    test('appending the same event again (an activity run twice) keeps it once', async () => {
      await log.append(event(1, 'accepted'));
      await log.append(event(2, 'delivering'));
      // A re-run publishes the same state under the same number, possibly stamped a little later.
      await log.append(event(2, 'delivering', { at: '2030-01-01T00:00:09.000Z' }));
      expect(await states()).toEqual([
        ['run-1', 1, 'accepted'],
        ['run-1', 2, 'delivering'],
      ]);
    });

    test('another state under a known number is refused loudly, and the log keeps the first', async () => {
      await log.append(event(1, 'accepted'));
      await log.append(event(2, 'delivering'));
      await log.append(event(3, 'awaiting_reply'));
      // The orphan: a retried workflow task went from delivering straight to replied, numbered 3 again.
      const refused = await log.append(event(3, 'replied')).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(EventSeqConflictError);
      expect(refused).toMatchObject({
        name: 'EventSeqConflictError',
        loggedState: 'awaiting_reply',
        event: { seq: 3, state: 'replied' },
        message: 'event 3 of message msg-1 (run run-1) is already logged as awaiting_reply; refusing replied',
      });
      expect(await states()).toEqual([
        ['run-1', 1, 'accepted'],
        ['run-1', 2, 'delivering'],
        ['run-1', 3, 'awaiting_reply'],
      ]);
      // The log still takes what comes next.
      await log.append(event(4, 'replied'));
      expect((await log.latest('msg-1'))?.state).toBe('replied');
    });

    test('numbers are per message and run: another run or message may use the same number', async () => {
      await log.append(event(1, 'accepted'));
      await log.append(event(1, 'delivering', { runId: 'run-2' }));
      await log.append(event(1, 'rejected', { messageId: 'msg-2' }));
      expect(await states()).toEqual([
        ['run-1', 1, 'accepted'],
        ['run-2', 1, 'delivering'],
      ]);
      expect(await states('msg-2')).toEqual([['run-1', 1, 'rejected']]);
    });

    test('a second store on the same storage sees the first one’s events and conflicts', async () => {
      const second = await another();
      await log.append(event(1, 'accepted'));
      expect((await second.latest('msg-1'))?.state).toBe('accepted');
      await expect(second.append(event(1, 'cancelled'))).rejects.toBeInstanceOf(EventSeqConflictError);
      await second.append(event(1, 'accepted'));
      expect(await states()).toEqual([['run-1', 1, 'accepted']]);
    });

    test('counts by minute and state, since a time, of every sender or of one', async () => {
      const at = (minute: number, second: number) => `2030-01-01T10:0${minute}:${String(second).padStart(2, '0')}.000Z`;
      await log.append(event(1, 'accepted', { at: at(1, 5) }));
      await log.append(event(2, 'delivered', { at: at(1, 59) }));
      await log.append(event(1, 'accepted', { messageId: 'msg-2', sender: 'ops', at: at(1, 30) }));
      await log.append(event(1, 'accepted', { messageId: 'msg-3', sender: 'ops', at: at(3, 0) }));
      await log.append(event(1, 'accepted', { messageId: 'msg-0', at: at(0, 59) }));
      expect(await log.countByMinute({ since: at(1, 0) })).toEqual([
        { minute: '2030-01-01T10:01', state: 'accepted', count: 2 },
        { minute: '2030-01-01T10:01', state: 'delivered', count: 1 },
        { minute: '2030-01-01T10:03', state: 'accepted', count: 1 },
      ]);
      expect(await log.countByMinute({ since: at(1, 0), sender: 'ops' })).toEqual([
        { minute: '2030-01-01T10:01', state: 'accepted', count: 1 },
        { minute: '2030-01-01T10:03', state: 'accepted', count: 1 },
      ]);
      expect(await log.countByMinute({ since: at(5, 0) })).toEqual([]);
    });

    test('an empty log: nothing to read, lastId 0, no latest', async () => {
      expect(await log.read({ afterId: 0 })).toEqual([]);
      expect(await log.lastId()).toBe(0);
      expect(await log.latest('msg-1')).toBeUndefined();
    });

    test('events read back with every field; filters by message and by sender, and limit pages', async () => {
      await log.append(event(1, 'accepted', { sender: 'ops' }));
      await log.append(event(1, 'accepted', { messageId: 'msg-2', sender: null }));
      await log.append(event(2, 'delivering', { sender: 'ops' }));
      await log.append(event(1, 'accepted', { messageId: 'msg-3', sender: 'ci' }));
      const all = await log.read({ afterId: 0 });
      expect(all[0]).toEqual({
        id: expect.any(Number),
        messageId: 'msg-1',
        runId: 'run-1',
        seq: 1,
        state: 'accepted',
        destination: 'api.example.com',
        sender: 'ops',
        at: '2030-01-01T00:00:01.000Z',
      });
      expect(all[1]).toMatchObject({ messageId: 'msg-2', sender: null });
      expect((await log.read({ afterId: 0, sender: 'ops' })).map((e) => [e.messageId, e.seq])).toEqual([
        ['msg-1', 1],
        ['msg-1', 2],
      ]);
      expect((await log.read({ afterId: 0, sender: 'ci' })).map((e) => e.messageId)).toEqual(['msg-3']);
      expect(await log.read({ afterId: 0, sender: 'nobody' })).toEqual([]);
      expect((await log.read({ afterId: 0, messageId: 'msg-1', sender: 'ops' })).map((e) => e.seq)).toEqual([1, 2]);
      // Paging by the last id seen walks every event once.
      const seen: number[] = [];
      for (let afterId = 0; ;) {
        const page = await log.read({ afterId, limit: 3 });
        if (page.length === 0) break;
        expect(page.length).toBeLessThanOrEqual(3);
        seen.push(...page.map((e) => e.id));
        afterId = page[page.length - 1]!.id;
      }
      expect(seen).toEqual(all.map((e) => e.id));
      expect(await log.lastId()).toBe(all[3]!.id);
    });

    test('ids keep growing after events are pruned, so a reader’s position stays valid', async () => {
      for (let seq = 1; seq <= 5; seq++) await log.append(event(seq, `s${seq}`));
      const before = await log.read({ afterId: 0 });
      const lastBefore = await log.lastId();
      // Events 1–3 happened before the cutoff.
      expect(await log.prune('2030-01-01T00:00:04.000Z', 1000)).toBe(3);
      expect((await log.read({ afterId: 0 })).map((e) => e.seq)).toEqual([4, 5]);
      await log.append(event(6, 's6'));
      const after = await log.read({ afterId: lastBefore });
      expect(after.map((e) => e.seq)).toEqual([6]);
      expect(after[0]!.id).toBeGreaterThan(before[4]!.id);
      expect(await log.latest('msg-1')).toMatchObject({ seq: 6 });
    });

    test('prune deletes oldest first, at most batchSize per call', async () => {
      for (let seq = 1; seq <= 7; seq++) await log.append(event(seq, `s${seq}`));
      const counts = [];
      for (let call = 0; call < 4; call++) counts.push(await log.prune('2030-01-01T00:00:06.000Z', 2));
      expect(counts).toEqual([2, 2, 1, 0]);
      expect((await log.read({ afterId: 0 })).map((e) => e.seq)).toEqual([6, 7]);
      // Concurrent pruners delete each event once between them.
      const other = await another();
      const [mine, theirs] = await Promise.all([
        log.prune('2030-01-02T00:00:00.000Z', 1),
        other.prune('2030-01-02T00:00:00.000Z', 1),
      ]);
      expect(mine + theirs).toBe(2);
      while ((await log.prune('2030-01-02T00:00:00.000Z', 1)) > 0);
      expect(await log.read({ afterId: 0 })).toEqual([]);
    });

    test('watch calls its listener soon after an append, until unsubscribed', async () => {
      let calls = 0;
      const unsubscribe = log.watch(() => (calls += 1));
      await log.append(event(1, 'accepted'));
      await eventually(() => calls, { until: (n) => n > 0, what: 'the watch listener' });
      unsubscribe();
      const after = calls;
      await log.append(event(2, 'delivering'));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(calls).toBe(after);
    });
  });
}
