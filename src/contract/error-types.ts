/**
 * The names of Herald's failure types. They cross process boundaries as Temporal failure types, so
 * code compares `failure.type` with these names, never `instanceof`. Names only: this file is safe in
 * the workflow sandbox and in the HTTP client.
 */

/** The destination answered in a way retrying cannot fix (a 4xx other than 408/409/425/429, a redirect). */
export const PERMANENT_DELIVERY_ERROR = 'PermanentDeliveryError';
/** The destination URL is unusable: not a URL, or a scheme other than http/https. */
export const INVALID_DESTINATION_ERROR = 'InvalidDestinationError';
/** A transient delivery failure, retried under the message's policy. */
export const RETRYABLE_DELIVERY_ERROR = 'RetryableDeliveryError';

/**
 * Not a failure of the destination: the attempt was held before any request (destination paused,
 * breaker open, a rate or concurrency limit, retries off, or its retry not due yet under a changed
 * policy). Temporal retries it after the hold's delay; it never counts as an attempt.
 */
export const DELIVERY_HELD = 'DeliveryHeld';

/** Failure types the delivery activity never retries; fed to the RetryPolicy's `nonRetryableErrorTypes`. */
export const NON_RETRYABLE_DELIVERY_ERRORS = [PERMANENT_DELIVERY_ERROR, INVALID_DESTINATION_ERROR] as const;

/** Thrown by update validators when a reply is not accepted; the caller sees this type and message. */
export const REPLY_NOT_ACCEPTED = 'ReplyNotAcceptedError';
/** Thrown by the redrive validator when the message is not dead-lettered. */
export const REDRIVE_NOT_ALLOWED = 'RedriveNotAllowedError';
/** Thrown by the subscribe validator when a callback cannot be registered. */
export const SUBSCRIBE_NOT_ALLOWED = 'SubscribeNotAllowedError';
/** Thrown by the discard validator when the message is not a parked dead letter. */
export const DISCARD_NOT_ALLOWED = 'DiscardNotAllowedError';
