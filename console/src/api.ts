/**
 * The console's only way to Herald: the public HTTP API, with the API key the operator typed (kept in
 * session storage, never anywhere else). Problems (RFC 9457) become ApiError with the API's own detail.
 */
const KEY = 'herald.console.apiKey';

/** Fired on window when the API refuses the key (401): the app goes back to the sign-in form. */
export const SIGNED_OUT = 'herald-signed-out';

export const session = {
  key: (): string | null => sessionStorage.getItem(KEY),
  signIn: (key: string) => sessionStorage.setItem(KEY, key),
  signOut: () => {
    sessionStorage.removeItem(KEY);
    dispatchEvent(new Event(SIGNED_OUT));
  },
};

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
  }
}

function headers(json: boolean): Record<string, string> {
  const result: Record<string, string> = { authorization: `Bearer ${session.key() ?? ''}` };
  if (json) result['content-type'] = 'application/json';
  return result;
}

/** One API call; resolves with the JSON body, rejects with ApiError (a 401 also signs out). */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: headers(body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const parsed: unknown = text === '' ? undefined : JSON.parse(text);
  if (!response.ok) throw refusal(response.status, parsed);
  return parsed as T;
}

function refusal(status: number, body: unknown): ApiError {
  if (status === 401) session.signOut();
  return new ApiError(status, (body ?? {}) as Problem);
}

export interface StreamedEvent {
  id: string;
  event: string;
  data: unknown;
}

/**
 * A Server-Sent Events stream read with fetch (EventSource cannot send an Authorization header): calls
 * `onEvent` for each event after `lastEventId` until the stream ends (or answers 204: nothing more) or
 * `signal` aborts. A refusal rejects with ApiError.
 */
export async function follow(
  path: string,
  lastEventId: string,
  onEvent: (event: StreamedEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  const response = await fetch(path, { headers: { ...headers(false), 'last-event-id': lastEventId }, signal });
  if (response.status === 204) return;
  if (!response.ok || !response.body) {
    const text = await response.text();
    throw refusal(response.status, text ? JSON.parse(text) : undefined);
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, '\n');
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let id = '';
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        const colon = line.indexOf(':');
        if (colon <= 0) continue;
        const field = line.slice(0, colon);
        const text = line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') id = text;
        else if (field === 'event') event = text;
        else if (field === 'data') data.push(text);
      }
      if (data.length > 0) onEvent({ id, event, data: JSON.parse(data.join('\n')) });
    }
  }
}
