/**
 * The workflow's typed interface: signals, queries and updates, each taking one input object.
 * Names are stable wire names: the Temporal CLI and other SDKs use them as written here.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AttemptRecord, Hold, MessageStatus, ReplyInput } from './message-status';

/**
 * The message workflow type Herald starts; also what the Web UI and `temporal workflow list` show. It
 * is `deliverMessage` made lean (see workflows/deliver-message.ts): a new type rather than a patch,
 * because a patch costs two history events on every message, a marker and a search-attribute upsert.
 */
export const MESSAGE_WORKFLOW = 'heraldMessage';

/** The message workflow type of earlier Herald versions: their runs replay on it, and a start from the Temporal CLI may still name it. */
export const DELIVER_MESSAGE_WORKFLOW = 'deliverMessage';

/** A visibility clause matching message workflows of either type. */
export const MESSAGE_WORKFLOW_CLAUSE = `WorkflowType IN ('${MESSAGE_WORKFLOW}', '${DELIVER_MESSAGE_WORKFLOW}')`;

/** The workflow that tells a sender a message's outcome (one per callback). */
export const DELIVER_CALLBACK_WORKFLOW = 'deliverCallback';

/** The message's current status. */
export const statusQuery = defineQuery<MessageStatus>('status');

/** The downstream's reply; a reply the message does not accept is recorded as ignored. */
export const replySignal = defineSignal<[ReplyInput]>('reply');

/** The downstream's reply, validated and acknowledged synchronously; refused with a reason when not accepted. */
export const submitReplyUpdate = defineUpdate<MessageStatus, [ReplyInput]>('submitReply');

/** Stops a message that has not ended. The input is optional so `temporal workflow signal --name cancel` works bare. */
export const cancelSignal = defineSignal<[{ reason?: string } | undefined]>('cancel');

/** Runs delivery again for a dead-lettered message, with the same id and history. */
export const redriveUpdate = defineUpdate<MessageStatus, [{ reason?: string } | undefined]>('redrive');

/** Discards a dead-lettered message: its record is marked discarded and its parked workflow completes. */
export const discardUpdate = defineUpdate<MessageStatus, [{ reason?: string } | undefined]>('discard');

/** Registers a callback URL; a message that has already reached its outcome calls it at once. */
export const subscribeUpdate = defineUpdate<{ subscriptions: number; notifiedNow: boolean }, [{ url: string }]>(
  'subscribe',
);

/** Sent by the delivery activity after every HTTP attempt, so status shows attempts as they happen. */
export const attemptRecordedSignal = defineSignal<[AttemptRecord]>('attemptRecorded');

/**
 * Sent by the delivery activity when its destination starts or stops holding it (paused, breaker open,
 * retries off): a hold, or null when the attempt goes ahead. Sent on changes only, never per check.
 */
export const deliveryHeldSignal = defineSignal<[Hold | null]>('deliveryHeld');

/**
 * Ordered delivery: a message registers with its predecessor on the same ordering key (`id` is the
 * successor's message id); the predecessor answers with `predecessorReleased` once the successor may go.
 */
export const successorWaitingSignal = defineSignal<[{ id: string }]>('successorWaiting');

/** Ordered delivery: the predecessor has reached its release point (`id` is the predecessor's message id). */
export const predecessorReleasedSignal = defineSignal<[{ id: string }]>('predecessorReleased');
