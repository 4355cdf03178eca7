/** Checks a reply's shape (pure; the workflow validates replies from any client, the CLI included). */
import type { ReplyInput } from './message-status';

/** Returns why a reply is malformed, or undefined when it is fine. */
export function validateReply(reply: ReplyInput | undefined): string | undefined {
  if (reply === null || typeof reply !== 'object' || Array.isArray(reply))
    return 'a reply must be an object with a body';
  const stored = 'bodyRef' in reply && reply.bodyRef !== undefined;
  if (stored && reply.body !== undefined) return 'a reply has a body or a bodyRef, not both';
  if (!stored && (!('body' in reply) || reply.body === undefined)) return 'a reply needs a body';
  if (reply.status !== undefined && (!Number.isInteger(reply.status) || reply.status < 100 || reply.status > 599)) {
    return 'reply status must be an integer from 100 to 599';
  }
  if (reply.headers !== undefined) {
    const headers = reply.headers as unknown;
    if (headers === null || typeof headers !== 'object' || Array.isArray(headers))
      return 'reply headers must be an object';
    if (Object.values(headers).some((value) => typeof value !== 'string')) return 'reply header values must be strings';
  }
  return undefined;
}
