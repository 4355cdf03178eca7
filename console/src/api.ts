/**
 * The console's only way to Herald: the public HTTP API, with the API key the operator typed (kept in
 * session storage, never anywhere else). Problems (RFC 9457) become ApiError with the API's own detail.
 */
const KEY = 'herald.console.apiKey';

export const session = {
  key: (): string | null => sessionStorage.getItem(KEY),
  signIn: (key: string) => sessionStorage.setItem(KEY, key),
  signOut: () => sessionStorage.removeItem(KEY),
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
  if (!response.ok) {
    if (response.status === 401) session.signOut();
    throw new ApiError(response.status, (parsed ?? {}) as Problem);
  }
  return parsed as T;
}

export interface StreamedEvent {
  id: string;
  event: string;
  data: unknown;
}

/**
 * A Server-Sent Events stream read with fetch (EventSource cannot send an Authorization header): calls
 * `onEvent` for each event until the stream ends or `signal` aborts.
 */
export async function follow(path: string, onEvent: (event: StreamedEvent) => void, signal: AbortSignal) {
  const response = await fetch(path, { headers: headers(false), signal });
  if (!response.ok || !response.body) throw new ApiError(response.status, {});
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const fields: Record<string, string> = {};
      for (const line of block.split('\n')) {
        const colon = line.indexOf(':');
        if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1).trimStart();
      }
      if (fields.data !== undefined) {
        onEvent({ id: fields.id ?? '', event: fields.event ?? 'message', data: JSON.parse(fields.data) });
      }
    }
  }
}
