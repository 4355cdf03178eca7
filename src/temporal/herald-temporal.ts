/**
 * Herald over Temporal, as the API uses it: every operation bound once to a client, the dead-letter
 * store and the config. The API talks to Temporal only through this object (decorated on the Fastify
 * instance as `temporal`), so no route builds a query, describes a workflow or recognises an SDK error.
 */
import type { Client } from '@temporalio/client';
import type { HeraldConfig } from '../config/config';
import type { MessageInput } from '../contract/message';
import type { MessageStatusWithSource, ReplyInput } from '../contract/message-status';
import type { DeadLetterFilter, DeadLetterStore } from '../store/dead-letter-store';
import type { EventLog } from '../store/event-log';
import { subscribeToOutcome } from './callback-operations';
import { countRunning, wakeDestination } from './destination-wake';
import { discardDeadLetter, redriveDeadLetter, redriveMatching } from './dead-letter-operations';
import { listMessages, type MessageListFilter } from './message-list';
import {
  cancelMessage,
  describeMessage,
  handOverReply,
  messageDestination,
  messageSender,
  startMessage,
  temporalReplyHandover,
} from './message-operations';
import { MessageNotFoundError } from './operation-errors';
import type { OrderingStart } from '../workflows/ordering-turn';
import { readMessageStatus, type StatusReaderDeps } from './message-status-reader';
import { pingTemporal, workerIsPolling } from './readiness';

export interface HeraldTemporalDeps {
  client: Client;
  store: DeadLetterStore;
  events: EventLog;
  config: HeraldConfig;
}

/** Binds Herald's Temporal operations to one client, store and config. */
export function createHeraldTemporal({ client, store, events, config }: HeraldTemporalDeps) {
  const { taskQueue } = config;
  const { namespace } = config.temporal;
  const statusDeps: StatusReaderDeps = {
    client,
    store,
    events,
    namespace,
    taskQueue,
    deadLetterRetentionMs: config.delivery.deadLetterRetentionMs,
  };
  const deadLetterDeps = {
    client,
    store,
    taskQueue,
    redriveRatePerSecond: config.redriveRatePerSecond,
    settings: config.delivery,
  };
  const replyHandover = temporalReplyHandover(client);
  const readStatus = (id: string): Promise<MessageStatusWithSource> => readMessageStatus(statusDeps, id);

  return {
    /**
     * Validates and starts a message (with its place on its ordering key, if it has one); the same id and
     * content again answers the existing one.
     */
    startMessage: (message: MessageInput, ordering?: OrderingStart) =>
      startMessage(client, message, taskQueue, config.delivery, ordering),
    /** The message's status, from the workflow or (no worker answering) from visibility. */
    readStatus,
    /** A page of messages from visibility, newest first. */
    listMessages: (filter: MessageListFilter, pageSize: number, cursor: string | undefined) =>
      listMessages(client, namespace, filter, pageSize, cursor),
    /** The API key name that sent the message (from its memo); undefined when unknown. */
    messageSender: (id: string): Promise<string | undefined> => messageSender(client, id),
    /** The message's destination host. */
    messageDestination: (id: string) => messageDestination(client, id),
    /** Whether a message with this id exists (one describe()). */
    messageExists: async (id: string): Promise<boolean> => {
      try {
        await describeMessage(client, id);
        return true;
      } catch (error) {
        if (error instanceof MessageNotFoundError) return false;
        throw error;
      }
    },
    /** Resolves when the message exists; MessageNotFoundError otherwise. */
    requireMessage: async (id: string): Promise<void> => {
      await describeMessage(client, id);
    },
    /** Hands over a downstream's reply (validated by the workflow), waiting at most HERALD_REPLY_WAIT. */
    submitReply: (id: string, reply: ReplyInput) => handOverReply(replyHandover, id, reply, config.replyWaitMs),
    /** Registers a callback URL for the message's outcome. */
    subscribe: (id: string, url: string) => subscribeToOutcome(client, taskQueue, id, url, readStatus),
    /** Asks a message that has not ended to stop. */
    cancelMessage: (id: string, reason?: string) => cancelMessage(client, id, reason),
    /** Redrives one dead letter (resumed, or restarted after retention). */
    redriveDeadLetter: (id: string) => redriveDeadLetter(deadLetterDeps, id),
    /** Redrives every parked dead letter matching the filter, paced at the configured rate. */
    redriveMatching: (
      filter: Omit<DeadLetterFilter, 'state' | 'cursor'>,
      limit: number,
      options: { dryRun?: boolean } = {},
    ) => redriveMatching(deadLetterDeps, filter, limit, options),
    /** Discards one dead letter. */
    discardDeadLetter: (id: string) => discardDeadLetter(deadLetterDeps, id),
    /** Running messages of a destination in one state (visibility count). */
    countRunning: (host: string, state: string) => countRunning(client, namespace, host, state),
    /** Wakes waiting messages of a destination (or all: undefined) so a change applies now, paced. */
    wakeDestination: (host: string | undefined, identity: string) =>
      wakeDestination({ client, namespace, ratePerSecond: config.wakeRatePerSecond, identity }, host),
    /** Resolves when the Temporal frontend answers. */
    ping: () => pingTemporal(client),
    /** Whether a worker polls the task queue. */
    workerIsPolling: () => workerIsPolling(client, namespace, taskQueue),
  };
}

/** Herald's Temporal operations, bound (see createHeraldTemporal). */
export type HeraldTemporal = ReturnType<typeof createHeraldTemporal>;
