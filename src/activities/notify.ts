/**
 * The notify activity: POSTs a message's outcome to the sender's callback URL, signed per the Standard
 * Webhooks specification (`webhook-id`, `webhook-timestamp`, `webhook-signature`: HMAC-SHA256 over
 * `id.timestamp.body`) with every secret configured for the API key that sent the message. Retries are
 * Temporal's, under the callback policy; classification and delays are the delivery activity's.
 */
import { Context } from '@temporalio/activity';
import type { Logger } from 'pino';
import { request, type Dispatcher } from 'undici';
import { computeRetryDelay } from '../retry/backoff';
import { classifyStatus, classifyTransportError } from '../retry/classify';
import type { WorkerMetrics } from '../observability/worker-metrics';
import type { RetryPlan } from '../retry/delivery-plan';
import { parseRetryAfter } from '../retry/retry-after';
import { isLiteralHostBlocked, type DestinationPolicy } from '../destinations/destination-policy';
import { readExcerpt } from './delivery';
import { PermanentDeliveryError, RetryableDeliveryError } from './delivery-errors';
import type { AttemptRecord, ReplyRecord } from '../contract/message-status';
import { replyPointerUrl } from '../blobs/reply-pointer';
import { secretsFor, signatureHeaders, type SecretsByKey } from '../signing/standard-webhooks';

export interface NotifyInput {
  /** Stable per callback: the `webhook-id`, so the sender can drop a callback it already processed. */
  callbackId: string;
  url: string;
  sender: string | null;
  payload: unknown;
  policy: RetryPlan;
}

export interface NotifyDependencies {
  /** By API key name, `*` for any; several during a rotation (each callback is signed with all). */
  secrets: SecretsByKey;
  destinationPolicy: DestinationPolicy;
  dispatcher?: Dispatcher;
  logger: Logger;
  /** Counts callback attempts, sent or failed (herald_callbacks_total). */
  metrics: WorkerMetrics;
  /** Where a large reply is served (HERALD_PUBLIC_URL), and how long its pointer works (HERALD_BLOB_POINTER_TTL). */
  replyPointers?: { publicUrl: string; ttlMs: number };
  random?: () => number;
}

/** Response bytes kept in a callback attempt record. */
const EXCERPT_BYTES = 512;

export function createNotifyActivities(deps: NotifyDependencies) {
  const random = deps.random ?? Math.random;

  /**
   * A reply kept in the blob store goes as a pointer (`reply.bodyUrl`), made at each attempt so it is
   * fresh when it arrives; the payload the workflow holds (and a dead-lettered callback keeps) has none.
   */
  function withReplyPointer(payload: unknown, secret: string): unknown {
    // Signed with the first secret (the newest by convention); the pointer route accepts any of them.
    const data = (payload as { data?: { id?: unknown; reply?: ReplyRecord | null } } | null)?.data;
    const ref = data?.reply?.bodyRef;
    if (!deps.replyPointers || !ref || typeof data?.id !== 'string') return payload;
    const bodyUrl = replyPointerUrl({
      publicUrl: deps.replyPointers.publicUrl,
      callbackSecret: secret,
      messageId: data.id,
      blobId: ref.id,
      expiresAtMs: Date.now() + deps.replyPointers.ttlMs,
    });
    return { ...(payload as object), data: { ...data, reply: { ...data.reply, bodyUrl } } };
  }
  return {
    /** Sends one callback attempt. */
    async notify(input: NotifyInput): Promise<AttemptRecord> {
      const info = Context.current().info;
      const started = new Date();
      const attempt = (extra: Partial<AttemptRecord> & Pick<AttemptRecord, 'outcome'>): AttemptRecord => ({
        round: 1,
        attempt: info.attempt,
        durationMs: Date.now() - started.getTime(),
        nextDelayMs: null,
        startedAt: started.toISOString(),
        finishedAt: new Date().toISOString(),
        ...extra,
      });
      const secrets = secretsFor(deps.secrets, input.sender);
      if (!secrets || secrets.length === 0) {
        const failed = attempt({
          outcome: 'permanent',
          cause: 'no_signing_secret',
          errorType: 'PermanentDeliveryError',
        });
        throw new PermanentDeliveryError(
          `no callback secret is configured for API key ${input.sender ?? '(none)'}`,
          failed,
        );
      }
      const url = new URL(input.url);
      if (isLiteralHostBlocked(url, deps.destinationPolicy)) {
        const failed = attempt({
          outcome: 'permanent',
          cause: 'destination_blocked',
          errorType: 'PermanentDeliveryError',
        });
        throw new PermanentDeliveryError(`callback URL ${url.hostname} is not an allowed address`, failed);
      }
      const body = JSON.stringify(withReplyPointer(input.payload, secrets[0]!));
      const signed = signatureHeaders(secrets, input.callbackId, new Date(), body);
      let status: number | undefined;
      let retryAfterMs: number | undefined;
      let excerpt = '';
      let classification;
      let error: string | undefined;
      try {
        const response = await request(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...signed,
          },
          body,
          dispatcher: deps.dispatcher,
          signal: AbortSignal.any([
            AbortSignal.timeout(input.policy.attemptTimeoutMs * 0.9),
            Context.current().cancellationSignal,
          ]),
        });
        status = response.statusCode;
        // The receiver is the sender's choice: read a bounded excerpt, never the whole body.
        excerpt = await readExcerpt(response.body, EXCERPT_BYTES);
        retryAfterMs = parseRetryAfter(response.headers['retry-after'], new Date());
        classification = classifyStatus(status);
      } catch (caught) {
        classification = classifyTransportError(caught);
        error = (caught as Error).message;
      }
      const common = { status, responseExcerpt: excerpt, error };
      deps.metrics.callback(classification.outcome === 'delivered' ? 'sent' : 'failed');
      // One line per callback attempt, as for deliveries: the receiver's host, never its URL (a query may hold a secret).
      const logAttempt = (nextDelayMs: number | null) =>
        deps.logger.info(
          {
            callbackId: input.callbackId,
            destination: url.host,
            attempt: info.attempt,
            outcome: classification.outcome,
            status: status ?? null,
            nextDelayMs,
          },
          'callback attempt',
        );
      if (classification.outcome !== 'retryable') logAttempt(null);
      if (classification.outcome === 'delivered') return attempt({ outcome: 'delivered', ...common });
      const cause = classification.cause;
      const message = status !== undefined ? `callback receiver answered HTTP ${status}` : `callback failed: ${cause}`;
      if (classification.outcome === 'permanent') {
        throw new PermanentDeliveryError(
          message,
          attempt({ outcome: 'permanent', cause, errorType: 'PermanentDeliveryError', ...common }),
        );
      }
      const delay = computeRetryDelay({
        attempt: info.attempt,
        policy: input.policy,
        retryAfterMs,
        maxRetryAfterMs: input.policy.maximumIntervalMs,
        random: random(),
      });
      const retried = info.attempt < input.policy.maximumAttempts;
      logAttempt(retried ? delay.delayMs : null);
      throw new RetryableDeliveryError(
        message,
        attempt({
          outcome: 'retryable',
          cause,
          errorType: 'RetryableDeliveryError',
          nextDelayMs: retried ? delay.delayMs : null,
          ...common,
        }),
        delay.delayMs,
      );
    },
  };
}
