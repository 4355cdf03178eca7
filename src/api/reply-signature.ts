/**
 * Repliers prove they may reply: the body is signed the Standard Webhooks way (HMAC-SHA256 over
 * `id.timestamp.body`, `whsec_` secrets, timestamps within five minutes) with the reply secret configured
 * for the message's destination. Verified with the `standardwebhooks` package.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { ProblemError } from './problem';

export function verifyReplySignature(
  secrets: Record<string, string>,
  destination: string,
  rawBody: string,
  headers: IncomingHttpHeaders,
): void {
  const secret = secrets[destination] ?? secrets['*'];
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
  try {
    new Webhook(secret).verify(rawBody, signed);
  } catch (error) {
    throw new ProblemError('invalid-signature', (error as Error).message);
  }
}
