/**
 * Repliers prove they may reply: the body is signed the Standard Webhooks way (HMAC-SHA256 over
 * `id.timestamp.body`, `whsec_` secrets, timestamps within five minutes) with the reply secret configured
 * for the message's destination. Verified with the `standardwebhooks` package.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { ProblemError } from './problem';

/** Between the message id and a replier's own suffix in a webhook-id; never part of a message id. */
export const REPLY_ID_SEPARATOR = '#';

/** Checks a reply's signature and its binding to the message; returns the verified webhook-id. */
export function verifyReplySignature(
  secrets: Record<string, string>,
  messageId: string,
  destination: string,
  rawBody: string,
  headers: IncomingHttpHeaders,
): string {
  // Host names are case-insensitive; configured keys may be written either way.
  const byHost = Object.fromEntries(Object.entries(secrets).map(([host, secret]) => [host.toLowerCase(), secret]));
  const secret = byHost[destination.toLowerCase()] ?? byHost['*'];
  if (!secret) {
    throw new ProblemError('invalid-signature', `no reply secret is configured for destination ${destination}`);
  }
  const header = (name: string) => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const signed = {
    'webhook-id': header('webhook-id') ?? '',
    'webhook-timestamp': header('webhook-timestamp') ?? '',
    'webhook-signature': header('webhook-signature') ?? '',
  };
  if (!signed['webhook-id'] || !signed['webhook-timestamp'] || !signed['webhook-signature']) {
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
  try {
    new Webhook(secret).verify(rawBody, signed);
  } catch (error) {
    throw new ProblemError('invalid-signature', (error as Error).message);
  }
  return webhookId;
}
