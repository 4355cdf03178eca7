/**
 * Turns a message's optional retry and reply settings into the effective plan: config defaults fill
 * what the sender left out, and configured limits bound what the sender asked for. Pure: the workflow
 * and the API call the same function, so a message the API accepts is one the workflow accepts.
 */
import { parseDuration, type DurationInput } from '../contract/duration';
import type { FieldError, Message } from '../contract/message';
import type { BackoffPolicy } from './backoff';

export interface RetryPlan extends BackoffPolicy {
  maximumAttempts: number;
  /** Per HTTP attempt; the activity's startToCloseTimeout. */
  attemptTimeoutMs: number;
  /** Across all attempts of a delivery round; the activity's scheduleToCloseTimeout. */
  deadlineMs: number;
}

/** Operator settings the plan is made from (read from config by the worker and the API). */
export interface DeliverySettings {
  defaults: RetryPlan;
  limits: {
    maximumAttempts: number;
    maximumIntervalMs: number;
    attemptTimeoutMs: number;
    deadlineMs: number;
    replyTimeoutMs: number;
  };
  /** Cap on a destination's Retry-After. */
  maxRetryAfterMs: number;
  /** How long a dead-lettered message stays parked for a redrive before its workflow completes. */
  deadLetterRetentionMs: number;
  /** Bytes of a response body kept in attempt records. */
  responseExcerptBytes: number;
  /** Retry policy of callbacks to senders (its own, independent of the message's). */
  callback: RetryPlan;
}

export interface DeliveryPlan {
  retry: RetryPlan;
  /** null when no reply is expected. */
  replyTimeoutMs: number | null;
  maxRetryAfterMs: number;
  deadLetterRetentionMs: number;
  responseExcerptBytes: number;
}

export type PlanResult = { ok: true; plan: DeliveryPlan } | { ok: false; errors: FieldError[] };

/** Resolves the effective delivery plan, or says which fields break the configured limits. */
export function resolveDeliveryPlan(message: Pick<Message, 'retry' | 'reply'>, settings: DeliverySettings): PlanResult {
  const errors: FieldError[] = [];
  const { defaults, limits } = settings;
  const overrides = message.retry ?? {};

  const duration = (field: string, value: DurationInput | undefined, fallback: number, max?: number): number => {
    if (value === undefined) return fallback;
    const ms = parseDuration(value);
    if (ms === undefined) {
      errors.push({ field, message: 'must be a duration such as "30s"' });
      return fallback;
    }
    if (max !== undefined && ms > max) errors.push({ field, message: `must be at most ${max}ms (configured limit)` });
    return ms;
  };

  const retry: RetryPlan = {
    initialIntervalMs: duration('/retry/initialInterval', overrides.initialInterval, defaults.initialIntervalMs),
    backoffCoefficient: overrides.backoffCoefficient ?? defaults.backoffCoefficient,
    maximumIntervalMs: duration(
      '/retry/maximumInterval',
      overrides.maximumInterval,
      defaults.maximumIntervalMs,
      limits.maximumIntervalMs,
    ),
    maximumAttempts: overrides.maximumAttempts ?? defaults.maximumAttempts,
    jitter: overrides.jitter ?? defaults.jitter,
    attemptTimeoutMs: duration(
      '/retry/attemptTimeout',
      overrides.attemptTimeout,
      defaults.attemptTimeoutMs,
      limits.attemptTimeoutMs,
    ),
    deadlineMs: duration('/retry/deadline', overrides.deadline, defaults.deadlineMs, limits.deadlineMs),
  };
  if (retry.maximumAttempts > limits.maximumAttempts) {
    errors.push({
      field: '/retry/maximumAttempts',
      message: `must be at most ${limits.maximumAttempts} (configured limit)`,
    });
  }
  if (retry.initialIntervalMs < 1) errors.push({ field: '/retry/initialInterval', message: 'must be at least 1ms' });
  if (retry.attemptTimeoutMs < 100) errors.push({ field: '/retry/attemptTimeout', message: 'must be at least 100ms' });
  if (retry.initialIntervalMs > retry.maximumIntervalMs) {
    errors.push({ field: '/retry/initialInterval', message: 'must not exceed maximumInterval' });
  }
  if (retry.attemptTimeoutMs > retry.deadlineMs) {
    errors.push({ field: '/retry/attemptTimeout', message: 'must not exceed deadline' });
  }

  let replyTimeoutMs: number | null = null;
  if (message.reply) {
    replyTimeoutMs = duration('/reply/timeout', message.reply.timeout, 0, limits.replyTimeoutMs);
    if (replyTimeoutMs < 1) errors.push({ field: '/reply/timeout', message: 'must be greater than zero' });
  }

  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    plan: {
      retry,
      replyTimeoutMs,
      maxRetryAfterMs: settings.maxRetryAfterMs,
      deadLetterRetentionMs: settings.deadLetterRetentionMs,
      responseExcerptBytes: settings.responseExcerptBytes,
    },
  };
}

const RETRY_PLAN_FIELDS = [
  'initialIntervalMs',
  'backoffCoefficient',
  'maximumIntervalMs',
  'jitter',
  'maximumAttempts',
  'attemptTimeoutMs',
  'deadlineMs',
] as const;
const LIMIT_FIELDS = [
  'maximumAttempts',
  'maximumIntervalMs',
  'attemptTimeoutMs',
  'deadlineMs',
  'replyTimeoutMs',
] as const;
const SETTING_FIELDS = ['maxRetryAfterMs', 'deadLetterRetentionMs', 'responseExcerptBytes'] as const;

function hasFiniteNumbers(value: unknown, fields: readonly string[]): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return fields.every((field) => typeof record[field] === 'number' && Number.isFinite(record[field]));
}

/**
 * Whether `value` has the shape of DeliverySettings. The workflow takes settings from its start input
 * (the API sends its own, saving a round trip before the first attempt) only when they do; anything
 * else, such as a start from the Temporal CLI with the message alone, falls back to the worker's.
 */
export function isDeliverySettings(value: unknown): value is DeliverySettings {
  if (!hasFiniteNumbers(value, SETTING_FIELDS)) return false;
  const settings = value as Record<string, unknown>;
  return (
    hasFiniteNumbers(settings.defaults, RETRY_PLAN_FIELDS) &&
    hasFiniteNumbers(settings.limits, LIMIT_FIELDS) &&
    hasFiniteNumbers(settings.callback, RETRY_PLAN_FIELDS)
  );
}
