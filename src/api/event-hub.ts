/**
 * One reader of the event log per API process, fanning out to every open stream. It tails the log once
 * for all subscribers (one read per wake: a `watch` hint or the poll timer, whichever comes first) and
 * hands each subscriber the events that match its filter. A subscriber that starts behind the tail
 * (Last-Event-ID, or a position read before it subscribed) first gets a catch-up read of its own; the
 * live events that arrive meanwhile wait in its queue, so it joins the tail with no gap and no repeat.
 *
 * The log is the source of truth: a hint that never comes costs at most one poll interval, and a
 * subscriber closed for lagging reconnects with Last-Event-ID and reads what it missed.
 */
import type { Logger } from 'pino';
import type { EventLog, EventLogQuery, MessageEvent } from '../store/event-log';

/** Why the hub ended a subscription. */
export type SubscriptionEnd =
  /** The subscriber said it is done (a per-message stream saw its terminal state). */
  | 'done'
  /** Its client fell too far behind (more than the hub's backlog bound unsent). */
  | 'lagging'
  /** The hub is closing (the API is stopping). */
  | 'closing'
  /** Its catch-up read failed. */
  | 'failed';

/** Which events a subscriber gets (as in EventLogQuery). */
export type EventFilter = Pick<EventLogQuery, 'messageId' | 'sender'>;

/** One open stream, as the hub sees it. */
export interface EventSubscriber {
  filter: EventFilter;
  /** The subscriber gets events after this log position. */
  afterId: number;
  /** Takes one event, in log order; returns false when the subscriber wants no more (then ended as `done`). */
  deliver(event: MessageEvent): boolean;
  /** What is written and not yet taken by the client, in bytes (the socket's unsent buffer). */
  backlog(): number;
  /** Called once when the hub ends the subscription (never after the subscriber unsubscribed itself). */
  end(reason: SubscriptionEnd): void;
}

/** Fans the event log out to subscribers. */
export interface EventHub {
  /** Adds a subscriber; resolves with its unsubscribe once it is registered. */
  subscribe(subscriber: EventSubscriber): Promise<() => void>;
  /** Ends every subscription (`closing`), stops reading, and waits for reads in flight. */
  close(): Promise<void>;
}

export interface EventHubOptions {
  events: EventLog;
  /**
   * The safety net: the log is read this often even without a hint (appends by another process on
   * SQLite give none; a PostgreSQL notification can be missed). @defaultValue 200 (HERALD_EVENT_POLL_INTERVAL)
   */
  pollIntervalMs: number;
  /**
   * Unsent bytes a subscriber may hold before it is closed as lagging. @defaultValue MAX_SUBSCRIBER_BACKLOG_BYTES
   */
  maxBacklogBytes?: number;
  /** Events per read. @defaultValue 500 */
  batchSize?: number;
  logger?: Logger;
}

/**
 * 256 KiB of unsent SSE text per stream, about 1,200 events: half a minute of the busiest sender at 50
 * events/s, after the kernel's own socket buffer is full too. A client that far behind is not reading;
 * closing it costs it a reconnect and one catch-up read, keeping it costs this much memory per stream
 * (2,000 such streams: 500 MiB), so the bound stays small.
 */
export const MAX_SUBSCRIBER_BACKLOG_BYTES = 256 * 1024;

/** Live events a catching-up subscriber may queue (its catch-up reads meanwhile); beyond, it lags. */
const MAX_QUEUED_DURING_CATCH_UP = 10_000;

interface Subscription {
  subscriber: EventSubscriber;
  /** The last position given to the subscriber: it never gets an event at or before it again. */
  position: number;
  /** Live events that came while it caught up; undefined once it is live. */
  queued: MessageEvent[] | undefined;
  over: boolean;
}

const matches = (filter: EventFilter, event: MessageEvent) =>
  (filter.messageId === undefined || filter.messageId === event.messageId) &&
  (filter.sender === undefined || filter.sender === event.sender);

/** Starts a hub on `events`; it reads only while it has subscribers. */
export function createEventHub(options: EventHubOptions): EventHub {
  const { events, pollIntervalMs, logger } = options;
  const maxBacklog = options.maxBacklogBytes ?? MAX_SUBSCRIBER_BACKLOG_BYTES;
  const batchSize = options.batchSize ?? 500;

  // Subscribers by what they filter on, so an event visits only those that may want it.
  const byMessage = new Map<string, Set<Subscription>>();
  const bySender = new Map<string, Set<Subscription>>();
  const unfiltered = new Set<Subscription>();
  let count = 0;
  const bucketOf = (filter: EventFilter): Set<Subscription> => {
    const [index, key] =
      filter.messageId !== undefined
        ? [byMessage, filter.messageId]
        : filter.sender !== undefined
          ? [bySender, filter.sender]
          : [undefined, ''];
    if (!index) return unfiltered;
    let bucket = index.get(key);
    if (!bucket) index.set(key, (bucket = new Set()));
    return bucket;
  };
  const remove = (subscription: Subscription) => {
    if (subscription.over) return;
    subscription.over = true;
    count -= 1;
    const { filter } = subscription.subscriber;
    const bucket = bucketOf(filter);
    bucket.delete(subscription);
    if (bucket.size === 0 && bucket !== unfiltered) {
      if (filter.messageId !== undefined) byMessage.delete(filter.messageId);
      else if (filter.sender !== undefined) bySender.delete(filter.sender);
    }
  };
  const end = (subscription: Subscription, reason: SubscriptionEnd) => {
    if (subscription.over) return;
    remove(subscription);
    if (reason === 'lagging') {
      logger?.warn(
        { filter: subscription.subscriber.filter, position: subscription.position },
        'event stream lagging: closed',
      );
    }
    try {
      subscription.subscriber.end(reason);
    } catch (error) {
      logger?.error({ err: error }, 'event stream end failed');
    }
  };
  /** Hands one event to a live subscriber, ending it when it is done or too far behind. */
  const give = (subscription: Subscription, event: MessageEvent) => {
    if (subscription.over || event.id <= subscription.position) return;
    subscription.position = event.id;
    let more: boolean;
    try {
      more = subscription.subscriber.deliver(event);
    } catch (error) {
      logger?.error({ err: error }, 'event stream write failed');
      more = false;
    }
    if (!more) end(subscription, 'done');
    else if (subscription.subscriber.backlog() > maxBacklog) end(subscription, 'lagging');
  };
  const offer = (subscription: Subscription, event: MessageEvent) => {
    if (!matches(subscription.subscriber.filter, event)) return;
    if (subscription.queued) {
      if (event.id <= subscription.position) return;
      subscription.queued.push(event);
      if (subscription.queued.length > MAX_QUEUED_DURING_CATCH_UP) end(subscription, 'lagging');
    } else {
      give(subscription, event);
    }
  };
  const dispatch = (event: MessageEvent) => {
    // Copies: a delivery may end (and so remove) subscriptions of the bucket being walked.
    const message = byMessage.get(event.messageId);
    if (message) for (const each of [...message]) offer(each, event);
    const sender = event.sender === null ? undefined : bySender.get(event.sender);
    if (sender) for (const each of [...sender]) offer(each, event);
    for (const each of [...unfiltered]) offer(each, event);
  };

  let closed = false;
  /** Everything before and at `tail` has been dispatched (undefined until first known). */
  let tail: number | undefined;
  const started = events.lastId().then((id) => {
    tail ??= id;
  });
  started.catch(() => undefined); // a failed first read is retried by the first subscribe
  const inFlight = new Set<Promise<unknown>>();
  const track = <T>(promise: Promise<T>): Promise<T> => {
    inFlight.add(promise);
    void promise.finally(() => inFlight.delete(promise)).catch(() => undefined);
    return promise;
  };

  // One read at a time; wakes during a read are folded into one more read after it.
  let reading = false;
  let wakeAgain = false;
  const readTail = async (): Promise<void> => {
    if (closed) return;
    if (reading) {
      wakeAgain = true;
      return;
    }
    reading = true;
    try {
      do {
        wakeAgain = false;
        if (tail === undefined) {
          const last = await events.lastId();
          tail ??= last;
        }
        if (count === 0) {
          // Nobody listens: only keep the position, so the first subscriber does not replay history.
          const last = await events.lastId();
          // Someone subscribed during that read: they start at the old position, so read from it.
          if (count === 0) tail = Math.max(tail, last);
          else wakeAgain = true;
          continue;
        }
        for (;;) {
          const batch = await events.read({ afterId: tail, limit: batchSize });
          for (const event of batch) {
            tail = event.id;
            dispatch(event);
          }
          if (batch.length < batchSize || closed) break;
        }
      } while (wakeAgain && !closed);
    } catch (error) {
      // The next wake or poll reads again from the same position: nothing is lost.
      logger?.error({ err: error }, 'event log read failed');
    } finally {
      reading = false;
    }
  };
  const wake = () => void track(readTail());
  const unwatch = events.watch(wake);
  const poll = setInterval(wake, pollIntervalMs);
  poll.unref();

  /** Reads what a subscriber missed, then lets it join the tail with what was queued meanwhile. */
  const catchUp = async (subscription: Subscription, upTo: number) => {
    const { filter } = subscription.subscriber;
    try {
      // Everything up to `upTo` was committed before this read began (the tail had read it), so reading
      // until a short batch or past `upTo` covers the gap; later events are in the queue.
      while (!subscription.over && !closed && subscription.position < upTo) {
        const batch = await events.read({ ...filter, afterId: subscription.position, limit: batchSize });
        if (subscription.over) return;
        for (const event of batch) give(subscription, event);
        if (batch.length < batchSize) break;
      }
    } catch (error) {
      logger?.error({ err: error, filter }, 'event stream catch-up failed');
      end(subscription, 'failed');
      return;
    }
    const queued = subscription.queued ?? [];
    subscription.queued = undefined;
    for (const event of queued) give(subscription, event);
  };

  return {
    async subscribe(subscriber) {
      if (tail === undefined) await started.catch(async () => (tail ??= await events.lastId()));
      const subscription: Subscription = {
        subscriber,
        position: subscriber.afterId,
        queued: undefined,
        over: false,
      };
      if (closed) {
        subscription.over = true;
        subscriber.end('closing');
        return () => undefined;
      }
      // From here on, synchronously: the tail's position and the registration are one step.
      const upTo = tail!;
      bucketOf(subscriber.filter).add(subscription);
      count += 1;
      if (subscription.position < upTo) {
        subscription.queued = [];
        void track(catchUp(subscription, upTo));
      }
      return () => remove(subscription);
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(poll);
      unwatch();
      const all = [...unfiltered, ...[...byMessage.values(), ...bySender.values()].flatMap((bucket) => [...bucket])];
      for (const subscription of all) end(subscription, 'closing');
      // The log closes after the API: let no read run into a closed database.
      await Promise.allSettled([...inFlight]);
    },
  };
}
