/**
 * The event hub over a real SQLite event log: fan-out by filter, one tail read per wake whatever the
 * number of subscribers, catch-up reads that join the tail with no gap and no repeat (events appended
 * while the catch-up read is held), the end of a finished subscriber, a lagging one closed without
 * slowing the others, the watch hint waking sooner than the poll, and the poll alone losing nothing.
 * The subscribers are plain objects (the hub's own interface); the HTTP side is in event-streams.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createEventHub,
  type EventFilter,
  type EventHub,
  type EventHubOptions,
  type SubscriptionEnd,
} from '../../src/api/event-hub';
import type { EventLog, EventLogQuery, MessageEvent, NewMessageEvent } from '../../src/store/event-log';
import { openSqliteEventLog } from '../../src/store/sqlite-event-log';
import { eventually } from '../helpers/eventually';

const HOUR = 3_600_000;

let dir: string;
let file: string;
let log: EventLog;
const closing: (() => Promise<unknown>)[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'herald-event-hub-'));
  file = join(dir, 'events.sqlite');
  log = openSqliteEventLog(file);
});
afterEach(async () => {
  for (const close of closing.splice(0).reverse()) await close().catch(() => undefined);
  await log.close().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

/** The log, with every read recorded, and catch-up reads (filtered ones) held at a gate on request. */
function countingLog(inner: EventLog, options: { watch?: boolean } = {}) {
  const reads: EventLogQuery[] = [];
  let gate: { before: boolean; opened: Promise<void>; reached: () => void } | undefined;
  const counted: EventLog = {
    ...inner,
    async read(query) {
      reads.push(query);
      const held = gate && (query.messageId !== undefined || query.sender !== undefined) ? gate : undefined;
      if (held?.before) {
        held.reached();
        await held.opened;
      }
      const events = await inner.read(query);
      if (held && !held.before) {
        held.reached();
        await held.opened;
      }
      return events;
    },
    // Without watch: a store whose notifications never come (the poll must do).
    watch: options.watch === false ? () => () => undefined : (listener) => inner.watch(listener),
  };
  return {
    log: counted,
    reads,
    /** Tail reads: the hub's own, unfiltered. */
    tailReads: () => reads.filter((q) => q.messageId === undefined && q.sender === undefined).length,
    /** Holds the next catch-up reads until `open()`: `before` the real read, or after it (its snapshot taken). */
    hold(before: boolean) {
      let open!: () => void;
      let reached!: () => void;
      const opened = new Promise<void>((resolve) => (open = resolve));
      const reachedOnce = new Promise<void>((resolve) => (reached = resolve));
      gate = { before, opened, reached };
      return {
        reached: reachedOnce,
        open: () => {
          gate = undefined;
          open();
        },
      };
    },
  };
}

function hubOn(events: EventLog, options: Partial<EventHubOptions> = {}): EventHub {
  const hub = createEventHub({ events, pollIntervalMs: HOUR, ...options });
  closing.push(() => hub.close());
  return hub;
}

/** A subscriber that records what it gets; `done` ends it, `backlog` is what it claims is unsent. */
function recorder(filter: EventFilter, afterId: number, options: { done?: (e: MessageEvent) => boolean } = {}) {
  const got: MessageEvent[] = [];
  const ended: SubscriptionEnd[] = [];
  let backlog = 0;
  return {
    got,
    ended,
    setBacklog: (bytes: number) => (backlog = bytes),
    subscriber: {
      filter,
      afterId,
      deliver: (event: MessageEvent) => {
        got.push(event);
        return !(options.done?.(event) ?? false);
      },
      backlog: () => backlog,
      end: (reason: SubscriptionEnd) => void ended.push(reason),
    },
  };
}

let counter = 0;
function event(messageId: string, sender: string | null, state = 'delivering'): NewMessageEvent {
  counter += 1;
  return {
    messageId,
    runId: 'run',
    seq: counter,
    state,
    destination: 'api.example.com',
    sender,
    at: new Date().toISOString(),
  };
}

const ids = (events: MessageEvent[]) => events.map((e) => e.id);

test('every subscriber gets the events its filter matches, in log order, and no other', async () => {
  const hub = hubOn(log);
  const a = recorder({ sender: 'a' }, 0);
  const b = recorder({ sender: 'b' }, 0);
  const m1 = recorder({ messageId: 'm1' }, 0);
  const m1a = recorder({ messageId: 'm1', sender: 'a' }, 0);
  const all = recorder({}, 0);
  for (const each of [a, b, m1, m1a, all]) await hub.subscribe(each.subscriber);
  const appended = [
    event('m1', 'a'),
    event('m2', 'b'),
    event('m1', 'a'),
    event('m3', 'a'),
    event('m1', 'b'), // another sender's message under the same id: only the unfiltered ones and m1 see it
    event('m4', null),
  ];
  for (const each of appended) await log.append(each);
  const logged = await log.read({ afterId: 0 });
  await eventually(() => all.got.length === logged.length, { what: 'every event to the unfiltered subscriber' });
  const expect_ = (filter: (e: MessageEvent) => boolean) => ids(logged.filter(filter));
  expect(ids(all.got)).toEqual(ids(logged));
  expect(ids(a.got)).toEqual(expect_((e) => e.sender === 'a'));
  expect(ids(b.got)).toEqual(expect_((e) => e.sender === 'b'));
  expect(ids(m1.got)).toEqual(expect_((e) => e.messageId === 'm1'));
  expect(ids(m1a.got)).toEqual(expect_((e) => e.messageId === 'm1' && e.sender === 'a'));
});

test('one tail read per wake, however many subscribers', async () => {
  const counted = countingLog(log);
  const hub = hubOn(counted.log);
  const subscribers = Array.from({ length: 200 }, (_, i) => recorder(i % 2 ? { sender: 's' } : {}, 0));
  for (const each of subscribers) await hub.subscribe(each.subscriber);
  for (let n = 1; n <= 10; n += 1) {
    await log.append(event(`m${n}`, 's'));
    await eventually(() => subscribers.every((each) => each.got.length === n), { what: `event ${n} everywhere` });
  }
  // Started at the tail: no catch-up. Ten appends, ten wakes, ten reads for two hundred streams.
  expect(counted.reads).toHaveLength(10);
  expect(counted.tailReads()).toBe(10);
});

test.each([
  ['before', true],
  ['after', false],
])(
  'a catch-up joins the tail with no gap and no repeat (events appended while its read is held %s it reads)',
  async (_, before) => {
    const counted = countingLog(log);
    for (let n = 0; n < 250; n += 1) await log.append(event(`m${n % 7}`, n % 3 ? 'a' : 'b'));
    const hub = hubOn(counted.log, { batchSize: 50 });
    const live = recorder({ sender: 'a' }, await log.lastId());
    await hub.subscribe(live.subscriber);
    const gate = counted.hold(before);
    const resumed = recorder({ sender: 'a' }, 10); // as with Last-Event-ID: 10
    await hub.subscribe(resumed.subscriber);
    await gate.reached;
    // While the catch-up read is held, the tail moves on: these go to the live subscriber at once.
    const during = 12;
    for (let n = 0; n < during; n += 1) await log.append(event(`late${n}`, n % 2 ? 'a' : 'b'));
    await eventually(() => live.got.length === during / 2, { what: 'the live subscriber to get the new events' });
    gate.open();
    await log.append(event('after', 'a'));
    const expected = ids(await log.read({ afterId: 10, sender: 'a', limit: 10_000 }));
    await eventually(() => resumed.got.length >= expected.length, { what: 'the resumed subscriber to catch up' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(ids(resumed.got)).toEqual(expected);
    expect(new Set(ids(resumed.got)).size).toBe(expected.length);
    expect(resumed.ended).toEqual([]);
  },
);

test('a subscriber that is done is ended once and gets nothing more', async () => {
  const hub = hubOn(log);
  const follower = recorder({ messageId: 'm' }, 0, { done: (e) => e.state === 'delivered' });
  await hub.subscribe(follower.subscriber);
  await log.append(event('m', 'a', 'accepted'));
  await log.append(event('m', 'a', 'delivered'));
  await log.append(event('m', 'a', 'delivering')); // a redrive's next round: another stream's business
  await eventually(() => follower.ended.length === 1, { what: 'the end' });
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(follower.got.map((e) => e.state)).toEqual(['accepted', 'delivered']);
  expect(follower.ended).toEqual(['done']);
});

test('a terminal event met during the catch-up ends the subscriber there too', async () => {
  await log.append(event('m', 'a', 'accepted'));
  await log.append(event('m', 'a', 'delivered'));
  await log.append(event('m', 'a', 'delivering'));
  const hub = hubOn(log);
  const follower = recorder({ messageId: 'm' }, 0, { done: (e) => e.state === 'delivered' });
  await hub.subscribe(follower.subscriber);
  await eventually(() => follower.ended.length === 1, { what: 'the end' });
  expect(follower.got.map((e) => e.state)).toEqual(['accepted', 'delivered']);
});

test('a subscriber over the backlog bound is closed as lagging; the others go on', async () => {
  const hub = hubOn(log, { maxBacklogBytes: 1_000 });
  const slow = recorder({ sender: 'a' }, 0);
  const fast = recorder({ sender: 'a' }, 0);
  await hub.subscribe(slow.subscriber);
  await hub.subscribe(fast.subscriber);
  // The slow client reads nothing: each event adds to what its socket holds.
  const deliver = slow.subscriber.deliver;
  slow.subscriber.deliver = (e) => {
    slow.setBacklog(slow.got.length * 300 + 300);
    return deliver(e);
  };
  for (let n = 0; n < 10; n += 1) await log.append(event(`m${n}`, 'a'));
  await eventually(() => fast.got.length === 10, { what: 'the fast subscriber to get everything' });
  expect(slow.ended).toEqual(['lagging']);
  // 300, 600, 900 bytes are within the bound; the fourth event takes it over and closes it.
  expect(slow.got).toHaveLength(4);
  expect(fast.ended).toEqual([]);
});

test('the watch hint wakes the hub at once; appends it is not told of wait for the poll', async () => {
  const hub = hubOn(log); // polls once an hour
  const all = recorder({}, 0);
  await hub.subscribe(all.subscriber);
  const other = openSqliteEventLog(file); // another process's connection: its appends give this one no hint
  closing.push(() => other.close());
  await other.append(event('elsewhere', 'a'));
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(all.got).toHaveLength(0);
  await log.append(event('here', 'a'));
  // The poll is an hour away: only the hint can deliver these.
  await eventually(() => all.got.length === 2, { intervalMs: 5, what: 'both events after the hint' });
  // The hint says "read", not what: the read finds the other connection's event too, in log order.
  expect(all.got.map((e) => e.messageId)).toEqual(['elsewhere', 'here']);
});

test('with no hint at all (a missed notification), the poll delivers everything', async () => {
  const deaf = countingLog(log, { watch: false });
  const hub = hubOn(deaf.log, { pollIntervalMs: 50 });
  const all = recorder({}, 0);
  await hub.subscribe(all.subscriber);
  for (let n = 0; n < 5; n += 1) await log.append(event(`m${n}`, 'a'));
  const other = openSqliteEventLog(file);
  closing.push(() => other.close());
  await other.append(event('elsewhere', 'b'));
  await eventually(() => all.got.length === 6, { what: 'every event by polling' });
  expect(ids(all.got)).toEqual(ids(await log.read({ afterId: 0 })));
});

test('close ends every subscriber as closing; a subscribe after close is ended at once', async () => {
  const hub = createEventHub({ events: log, pollIntervalMs: 50 });
  const subscribers = [recorder({ sender: 'a' }, 0), recorder({ messageId: 'm' }, 0), recorder({}, 0)];
  for (const each of subscribers) await hub.subscribe(each.subscriber);
  await hub.close();
  expect(subscribers.map((each) => each.ended)).toEqual([['closing'], ['closing'], ['closing']]);
  const late = recorder({}, 0);
  await hub.subscribe(late.subscriber);
  expect(late.ended).toEqual(['closing']);
  await log.append(event('m', 'a'));
  await new Promise((resolve) => setTimeout(resolve, 150));
  expect(subscribers.every((each) => each.got.length === 0)).toBe(true);
});

test('an unsubscribed subscriber gets nothing more and is not ended by the hub', async () => {
  const hub = hubOn(log);
  const gone = recorder({ sender: 'a' }, 0);
  const stays = recorder({ sender: 'a' }, 0);
  const unsubscribe = await hub.subscribe(gone.subscriber);
  await hub.subscribe(stays.subscriber);
  unsubscribe();
  await log.append(event('m', 'a'));
  await eventually(() => stays.got.length === 1, { what: 'the remaining subscriber' });
  expect(gone.got).toHaveLength(0);
  await hub.close();
  expect(gone.ended).toEqual([]);
  expect(stays.ended).toEqual(['closing']);
});
