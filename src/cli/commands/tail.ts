/**
 * `herald tail`: message state changes as they happen, from GET /v1/events (Server-Sent Events). Each
 * event is `event: state` with `data: {"id","state","at","seq","destination"}`; the eventsource
 * package reconnects on its own after a dropped connection, resuming from Last-Event-ID.
 */
import { EventSource, type FetchLike } from 'eventsource';
import { ExitCode } from '../exit-codes';
import { note, type CliIo } from '../io';
import { apiSettings, expectPositionals, parseCommand } from '../options';

const OPTIONS = { url: { type: 'string' } } as const;

/** One state change, as the API streams it. */
export interface StateEvent {
  id: string;
  state: string;
  at: string;
  seq: number;
  destination: string;
}

export async function tailCommand(args: string[], io: CliIo): Promise<number | 'help'> {
  const { values, positionals, json, help } = parseCommand(args, OPTIONS);
  if (help) return 'help';
  expectPositionals(positionals, 0, 'nothing');
  const { baseUrl, apiKey } = apiSettings(io, { apiUrl: values['api-url'] ?? values.url, apiKey: values['api-key'] });
  const url = new URL('/v1/events', baseUrl);

  // The API's reason for refusing the stream (its problem+json), which EventSource itself does not keep.
  let refusal: string | undefined;
  const authorizedFetch: FetchLike = async (input, init) => {
    const response = await fetch(input, { ...init, headers: { ...init.headers, Authorization: `Bearer ${apiKey}` } });
    // EventSource reads only the status of a refused stream, so its body is free to keep.
    if (response.status !== 200 && response.status !== 204) refusal = await response.text().catch(() => undefined);
    return response;
  };

  return new Promise<number>((resolve) => {
    const source = new EventSource(url, { fetch: authorizedFetch });
    let opened = false;
    const finish = (code: number) => {
      source.close();
      // EventSource arms its reconnect timer right after dispatching an error: close again once it has.
      setImmediate(() => source.close());
      resolve(code);
    };
    io.onInterrupt(() => finish(ExitCode.ok));

    source.addEventListener('open', () => {
      note(io, opened ? 'herald: reconnected' : `herald: following ${url.href} (Ctrl-C to stop)`);
      opened = true;
    });
    source.addEventListener('state', (event) => {
      let data: StateEvent;
      try {
        data = JSON.parse(event.data) as StateEvent;
      } catch {
        note(io, `herald: skipped an event that is not JSON: ${event.data}`);
        return;
      }
      io.stdout.write(json ? `${JSON.stringify(data)}\n` : `${eventLine(data)}\n`);
    });
    source.addEventListener('error', (event) => {
      const status = event.code;
      if (status === 204) return finish(ExitCode.ok); // the server ended the stream
      if (status !== undefined && status >= 400 && status < 500) {
        note(io, `herald: the API refused the event stream: ${status}${refusal ? ` ${summarise(refusal)}` : ''}`);
        return finish(ExitCode.refused);
      }
      if (!opened || source.readyState === EventSource.CLOSED) {
        note(
          io,
          `herald: cannot reach ${url.href}: ${event.message ?? (status ? `HTTP ${status}` : 'connection failed')}`,
        );
        return finish(ExitCode.unreachable);
      }
      note(io, `herald: connection lost (${event.message ?? 'no detail'}); reconnecting`);
    });
  });
}

/** `2026-11-24T17:00:00.000Z  delivering      msg_…  api.example.com` */
export function eventLine(event: StateEvent): string {
  return `${event.at}  ${event.state.padEnd(14)}  ${event.id}  ${event.destination}`;
}

function summarise(body: string): string {
  try {
    const problem = JSON.parse(body) as { title?: string; detail?: string };
    return [problem.title, problem.detail].filter(Boolean).join(': ');
  } catch {
    return body.slice(0, 200);
  }
}
