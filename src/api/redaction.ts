/**
 * Credentials a sender put in a message's headers (to reach its destination) stay in the workflow input,
 * where delivery needs them, but are not echoed back by the dead-letter endpoints to whoever asks.
 */
import type { Message } from '../contract/message';

// By name: any header that may carry a credential (Authorization, X-Auth-Key, X-Api-Key, Cookie, X-Session-Id…).
const SENSITIVE_HEADER = /auth|cookie|token|secret|passw|api-?key|signature|credential|session|private/i;

export function redactMessage(message: Message): Message {
  const headers = message.destination.headers;
  if (!headers) return message;
  const redacted = Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name, SENSITIVE_HEADER.test(name) ? '[redacted]' : value]),
  );
  return { ...message, destination: { ...message.destination, headers: redacted } };
}
