/** The baseline's one activity: the POST Herald's delivery makes, without its policy, records or events. */
import { request } from 'undici';

export interface BareMessage {
  id: string;
  url: string;
  body: unknown;
}

/** POSTs the body as JSON with the id as idempotency key; any non-2xx answer fails the attempt (retried). */
export async function post(message: BareMessage): Promise<void> {
  const response = await request(message.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': message.id },
    body: JSON.stringify(message.body),
  });
  await response.body.dump();
  if (response.statusCode < 200 || response.statusCode >= 300) {
    throw new Error(`the receiver answered ${response.statusCode}`);
  }
}

export type BareActivities = { post: typeof post };
