/**
 * The message's wire rules (URLs and headers sent exactly as given; see contract/message.ts) applied to
 * every request body validated as a message, right after schema validation: a malformed URL or header
 * is a 400 naming the field, decided before the route's limit and destination checks (422).
 */
import type { FastifyRequest } from 'fastify';
import { MessageInputSchema, wireRuleErrors, type MessageInput } from '../contract/message';
import { ProblemError } from './problem';

/** A `preHandler` hook: throws a 400 when a message body breaks the wire rules. */
export async function refuseMessageBreakingWireRules(request: FastifyRequest): Promise<void> {
  if (request.routeOptions.schema?.body !== MessageInputSchema) return;
  const errors = wireRuleErrors(request.body as MessageInput);
  if (errors.length > 0) {
    throw new ProblemError('validation-failed', 'the request does not match the schema', { errors });
  }
}
