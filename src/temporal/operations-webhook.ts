/**
 * The operational webhook: a circuit breaker that opens or closes is announced to the URL an operator
 * configured (`destination.circuit_opened`, `destination.circuit_closed`), so the endpoint's owner
 * hears about it. It goes as a callback (a deliverCallback workflow): signed per Standard Webhooks,
 * retried under the callback policy, dead-lettered as a callback when it never gets through, where an
 * operator replays it like any other. Hand-written on the callback path rather than a second sender:
 * one signing, retry and dead-letter story for everything Herald sends on its own behalf.
 */
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { CallbackInput } from '../contract/callback';
import type { Message } from '../contract/message';
import type { BreakerTransition } from '../contract/destination';
import { startCallback } from './callback-operations';

/** The callback "sender" whose secret signs operational webhooks (HERALD_OPERATIONS_WEBHOOK_SECRET). */
export const OPERATIONS_SENDER = 'herald-operations';

/** The Standard Webhooks payload of a breaker transition (`type`, `timestamp`, `data`). */
export interface CircuitWebhookPayload {
  type: 'destination.circuit_opened' | 'destination.circuit_closed';
  timestamp: string;
  data: {
    destination: string;
    from: string;
    to: string;
    at: string;
    window: BreakerTransition['window'];
    /** The destination history entry (GET /v1/destinations/{host}/history). */
    changeId: number;
  };
}

/** The webhook a transition is announced with; a move to half-open is history only. */
export function circuitWebhook(transition: BreakerTransition): CircuitWebhookPayload | null {
  const type =
    transition.to === 'open'
      ? 'destination.circuit_opened'
      : transition.to === 'closed'
        ? 'destination.circuit_closed'
        : null;
  if (!type) return null;
  const at = transition.at.toISOString();
  return {
    type,
    timestamp: at,
    data: {
      destination: transition.host,
      from: transition.from,
      to: transition.to,
      at,
      window: transition.window,
      changeId: transition.change.id,
    },
  };
}

/** A workflow id and webhook-id for a transition: one per history entry, so a repeat starts nothing new. */
export function operationsCallbackId(transition: BreakerTransition): string {
  const host = transition.host.replace(/[^A-Za-z0-9._~-]/g, '-');
  return `herald-ops-${transition.change.id}-${host}`.slice(0, 200);
}

/** Starts the callback that announces `transition`; answers its id, or null for a transition not announced. */
export async function announceTransition(
  client: Client,
  taskQueue: string,
  url: string,
  transition: BreakerTransition,
): Promise<string | null> {
  const payload = circuitWebhook(transition);
  if (!payload) return null;
  const callbackId = operationsCallbackId(transition);
  // A dead-lettered callback keeps "the message it was about": here, the announcement itself.
  const message: Message = { id: callbackId, destination: { url }, body: payload };
  const input: CallbackInput = {
    callbackId,
    messageId: callbackId,
    url,
    sender: OPERATIONS_SENDER,
    payload,
    message,
    round: 1,
  };
  await startCallback(client, taskQueue, input);
  return callbackId;
}

/** Announces transitions in the background: a failure to start is logged and counted, never thrown. */
export function transitionAnnouncer(options: {
  client: Client;
  taskQueue: string;
  url: string;
  logger: Logger;
  counted: (outcome: 'started' | 'failed') => void;
}): (transition: BreakerTransition) => void {
  return (transition) => {
    announceTransition(options.client, options.taskQueue, options.url, transition).then(
      (id) => {
        if (!id) return;
        options.counted('started');
        options.logger.info(
          { destination: transition.host, to: transition.to, callbackId: id },
          'circuit change announced',
        );
      },
      (error: unknown) => {
        options.counted('failed');
        options.logger.error(
          { err: error, destination: transition.host, to: transition.to },
          'could not announce circuit change',
        );
      },
    );
  };
}
