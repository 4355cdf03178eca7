/**
 * Repliers prove they may reply: the body is signed the Standard Webhooks way (HMAC-SHA256 over
 * `id.timestamp.body`, `whsec_` secrets, timestamps within five minutes) with a reply secret configured
 * for the message's destination (any of them, during a rotation). Verified with the `standardwebhooks` package.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { secretsForHost, signedHeaders, verifyWithAny, type SecretsByKey } from '../signing/standard-webhooks';
import { ProblemError } from './problem';

/** Between the message id and a replier's own suffix in a webhook-id; never part of a message id. */
export const REPLY_ID_SEPARATOR = '#';

/** Checks a reply's signature and its binding to the message; returns the verified webhook-id. */
export function verifyReplySignature(
  secrets: SecretsByKey,
  messageId: string,
  destination: string,
  rawBody: string,
  headers: IncomingHttpHeaders,
): string {
  const accepted = secretsForHost(secrets, destination);
  if (!accepted || accepted.length === 0) {
    throw new ProblemError('invalid-signature', `no reply secret is configured for destination ${destination}`);
  }
  const signed = signedHeaders(headers);
  if (!signed) {
    throw new ProblemError('invalid-signature', 'send webhook-id, webhook-timestamp and webhook-signature headers');
  }
  // The webhook-id is signed: requiring it to name the message binds the signature to this message, so a
  // reply signed for one message cannot be replayed to another. The separator is `#`, which no message id
  // may contain (MESSAGE_ID_PATTERN), so `<id>#<suffix>` names one message only.
  const webhookId = signed['webhook-id'];
  if (webhookId !== messageId && !webhookId.startsWith(`${messageId}${REPLY_ID_SEPARATOR}`)) {
    throw new ProblemError(
      'invalid-signature',
      `webhook-id must be the message id (${messageId}), optionally followed by "${REPLY_ID_SEPARATOR}" and anything`,
    );
  }
  // During a rotation the destination's old and new secrets are both configured: either one verifies.
  try {
    verifyWithAny(accepted, rawBody, signed);
  } catch (error) {
    throw new ProblemError('invalid-signature', (error as Error).message);
  }
  return webhookId;
}
