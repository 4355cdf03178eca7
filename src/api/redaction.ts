/**
 * Credentials a sender put in a message's headers (to reach its destination) stay in the workflow input,
 * where delivery needs them, but are not echoed back by the dead-letter endpoints to whoever asks.
 */
import type { Message } from '../contract/message';

const SENSITIVE_HEADER = /authorization|cookie|token|secret|password|api-?key|signature/i;

export function redactMessage(message: Message): Message {
  const headers = message.destination.headers;
  if (!headers) return message;
  const redacted = Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name, SENSITIVE_HEADER.test(name) ? '[redacted]' : value]),
  );
  return { ...message, destination: { ...message.destination, headers: redacted } };
}
