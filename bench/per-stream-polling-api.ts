/**
 * The benchmark's baseline: the API process exactly as `src/api-server.ts` runs it, but with the event
 * hub swapped for the behaviour before it, where every stream polled the event log on its own (a read
 * every poll interval per stream, nothing shared, no backlog bound). Kept here, not behind a switch in
 * src/, so the product has one way to serve streams and the comparison still runs the same app.
 */
import type { EventHub, EventHubOptions, EventSubscriber } from '../src/api/event-hub';
import { openResources } from '../src/runtime/resources';
import { runProcess } from '../src/runtime/run-until-stopped';

/** One poll loop per subscriber, as `streamEvents` did before the hub. */
function perStreamPolling({ events, pollIntervalMs, logger }: EventHubOptions): EventHub {
  const loops = new Map<EventSubscriber, { stop: boolean; running: Promise<void> }>();
  const run = async (subscriber: EventSubscriber, loop: { stop: boolean }) => {
    let cursor = subscriber.afterId;
    while (!loop.stop) {
      const batch = await events.read({ ...subscriber.filter, afterId: cursor, limit: 200 });
      for (const event of batch) {
        if (loop.stop) return;
        cursor = event.id;
        if (!subscriber.deliver(event)) {
          loops.delete(subscriber);
          subscriber.end('done');
          return;
        }
      }
      if (batch.length === 0) await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
    }
  };
  return {
    async subscribe(subscriber) {
      const loop = { stop: false, running: Promise.resolve() };
      loop.running = run(subscriber, loop).catch((error: unknown) => {
        logger?.error({ err: error }, 'event stream failed');
        subscriber.end('failed');
      });
      loops.set(subscriber, loop);
      return () => {
        loop.stop = true;
        loops.delete(subscriber);
      };
    },
    async close() {
      const all = [...loops];
      loops.clear();
      for (const [subscriber, loop] of all) {
        loop.stop = true;
        subscriber.end('closing');
      }
      await Promise.allSettled(all.map(([, loop]) => loop.running));
    },
  };
}

runProcess('herald-api-per-stream-polling', async (config, logger) =>
  openResources(config, { logger, api: { createEventHub: perStreamPolling } }),
);
