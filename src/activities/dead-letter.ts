/**
 * Dead-letter activities: write a message that could not be delivered to the dead-letter store, and
 * mark it redriven when an operator sends it again. Both are idempotent, so Temporal may retry them freely.
 */
import type { Logger } from 'pino';
import type { WorkerMetrics } from '../observability/worker-metrics';
import type { DeadLetterStore, NewDeadLetter } from '../store/dead-letter-store';

export interface DeadLetterDependencies {
  store: DeadLetterStore;
  logger: Logger;
  /** Counts the dead letters the store took as new (herald_dead_letters_created_total). */
  metrics: WorkerMetrics;
}

export function createDeadLetterActivities({ store, logger, metrics }: DeadLetterDependencies) {
  return {
    /** Writes the dead-letter record for one delivery round; a retried call writes nothing new. */
    async deadLetter(record: NewDeadLetter): Promise<{ created: boolean }> {
      const result = await store.put(record);
      if (result.created) metrics.deadLetterCreated(record.reason, record.kind ?? 'message');
      logger.warn(
        { messageId: record.id, reason: record.reason, round: record.round, created: result.created },
        'message dead-lettered',
      );
      return result;
    },

    /** Marks the record discarded: an operator decided the message will not be delivered. */
    async markDiscarded({ id, at }: { id: string; at: string }): Promise<void> {
      await store.markDiscarded(id, at);
      logger.info({ messageId: id }, 'dead letter discarded');
    },

    /** Marks the record of `round` as redriven. */
    async markRedriven({ id, round, at }: { id: string; round: number; at: string }): Promise<void> {
      await store.markRedriven(id, round, at);
      logger.info({ messageId: id, round }, 'dead letter redriven');
    },
  };
}
