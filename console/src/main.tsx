/**
 * Herald's operator console: a small Preact app over the public API (no private endpoint: the console can
 * do nothing its key could not). Pages by hash route: overview, dead letters (one, and bulk redrive),
 * messages (one, with a live timeline), destinations.
 */
import { render } from 'preact';
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { api, ApiError, follow, session, SIGNED_OUT } from './api';
import { ActivityChart } from './chart';
import { duration, query, when } from './format';
import { DEAD_LETTER_KINDS, DEAD_LETTER_REASONS, TERMINAL_STATES } from './vocabulary';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The current hash route, as path parts (`#/dead-letters/msg_1` → ['dead-letters', 'msg_1']). */
function useRoute(): string[] {
  const decode = (part: string) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part; // a malformed escape: the text as typed
    }
  };
  const read = () => location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decode);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const changed = () => setRoute(read());
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return route;
}

/** Loads `path` (again when `reload` changes); the error is shown where the data would be. */
function useApi<T>(path: string | null, reload = 0) {
  const [state, setState] = useState<{ data?: T; error?: string; loading: boolean }>({ loading: true });
  useEffect(() => {
    if (path === null) return;
    let live = true;
    setState((before) => ({ ...before, loading: true }));
    api<T>('GET', path).then(
      (data) => live && setState({ data, loading: false }),
      (error: Error) => live && setState({ error: error.message, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [path, reload]);
  return state;
}

/** The message's page in the Temporal Web UI (the API puts the UI's address on <body>), or undefined. */
function webUi(id: string): string | undefined {
  const { temporalUi, namespace } = document.body.dataset;
  if (!temporalUi) return undefined;
  return `${temporalUi}/namespaces/${encodeURIComponent(namespace ?? 'default')}/workflows/${encodeURIComponent(id)}`;
}

function Failure({ error }: { error?: string }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}

function SignIn({ onSignIn }: { onSignIn: () => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string>();
  const submit = async (event: Event) => {
    event.preventDefault();
    session.signIn(key.trim());
    try {
      await api('GET', '/v1/activity?window=1m');
      onSignIn();
    } catch (caught) {
      // A 401 has signed out already; anything else (Temporal away, say) leaves the key, and says so.
      if (caught instanceof ApiError && caught.status !== 401) onSignIn();
      else setError(caught instanceof ApiError ? caught.message : String(caught));
    }
  };
  return (
    <main class="sign-in">
      <h1>Herald console</h1>
      <form onSubmit={submit}>
        <label for="api-key">API key</label>
        <input
          id="api-key"
          type="password"
          autoComplete="off"
          value={key}
          onInput={(e) => setKey((e.target as HTMLInputElement).value)}
          required
        />
        <button type="submit">Sign in</button>
        <p class="hint">Kept in this tab’s session storage only.</p>
        <Failure error={error} />
      </form>
    </main>
  );
}

/** Waiting dead letters for the overview, page by page (cursor), up to 5,000. */
function useWaiting() {
  const [state, setState] = useState<{ items: Json[]; loaded: boolean; truncated: boolean; error?: string }>({
    items: [],
    loaded: false,
    truncated: false,
  });
  useEffect(() => {
    let live = true;
    (async () => {
      const items: Json[] = [];
      let cursor: string | null | undefined;
      for (let page = 0; page < 10; page += 1) {
        const got = await api<{ items: Json[]; nextCursor: string | null }>(
          'GET',
          `/v1/dead-letters${query({ state: 'dead_lettered', limit: '500', cursor: cursor ?? undefined })}`,
        );
        items.push(...got.items);
        cursor = got.nextCursor;
        if (!cursor) break;
      }
      if (live) setState({ items, loaded: true, truncated: Boolean(cursor) });
    })().catch((error: Error) => live && setState({ items: [], loaded: true, truncated: false, error: error.message }));
    return () => {
      live = false;
    };
  }, []);
  return state;
}

function Overview() {
  const activity = useApi<{ minutes: { minute: string; counts: Record<string, number> }[] }>('/v1/activity?window=1h');
  const waiting = useWaiting();
  const destinations = useDestinations(0, [], waiting);
  const chart = useMemo(() => {
    const minutes = activity.data?.minutes ?? [];
    return {
      times: minutes.map((m) => Date.parse(`${m.minute}:00Z`) / 1000),
      series: [
        { label: 'accepted', stroke: '#1f6feb', values: minutes.map((m) => m.counts.accepted ?? 0) },
        {
          label: 'delivered',
          stroke: '#1a7f37',
          values: minutes.map((m) => (m.counts.delivered ?? 0) + (m.counts.replied ?? 0)),
        },
        { label: 'dead-lettered', stroke: '#cf222e', values: minutes.map((m) => m.counts.dead_lettered ?? 0) },
      ],
    };
  }, [activity.data]);
  const groups = useMemo(() => {
    const counts = new Map<string, number>();
    for (const letter of waiting.items) {
      const key = `${letter.reason} · ${letter.destination}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return [...counts].sort((a, b) => b[1] - a[1]);
  }, [waiting.items]);
  const failing = destinations.items
    .filter((d) => (failureRatio(d) ?? 0) > 0 || d.deadLettersWaiting > 0)
    .sort((a, b) => (failureRatio(b) ?? 0) - (failureRatio(a) ?? 0) || b.deadLettersWaiting - a.deadLettersWaiting)
    .slice(0, 5);
  return (
    <section>
      <h2>Overview</h2>
      <h3>Messages per minute, last hour</h3>
      <Failure error={activity.error} />
      {activity.data && <ActivityChart times={chart.times} series={chart.series} />}
      <div class="columns">
        <div>
          <h3>Dead letters waiting, by reason and destination</h3>
          <Failure error={waiting.error} />
          {waiting.truncated && <p class="hint">Counted from the newest {waiting.items.length}.</p>}
          {!waiting.loaded ? null : groups.length === 0 ? (
            <p>None waiting.</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">Reason · destination</th>
                  <th scope="col">Waiting</th>
                </tr>
              </thead>
              <tbody>
                {groups.map(([group, count]) => (
                  <tr key={group}>
                    <td>{group}</td>
                    <td>{count}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
        <div>
          <h3>Destinations failing most</h3>
          <Failure error={destinations.error} />
          {!destinations.loaded ? null : failing.length === 0 ? (
            <p>No destination is failing.</p>
          ) : (
            <ul>
              {failing.map((d) => (
                <li key={d.host}>
                  <a href="#/destinations">{d.host}</a>:{' '}
                  {failureRatio(d) === undefined
                    ? 'no circuit breaker configured'
                    : `${Math.round(failureRatio(d)! * 100)} % of recent attempts failed`}
                  , {d.deadLettersWaiting} dead letters waiting
                </li>
              ))}
            </ul>
          )}
        </div>
      </div>
    </section>
  );
}

/**
 * How much of a destination's recent window failed (0 to 1), from its circuit breaker's snapshot; undefined for a
 * destination without a breaker configured (the API counts no window for it).
 */
function failureRatio(d: Json): number | undefined {
  const window = d.breakerSnapshot?.window;
  if (!window) return undefined;
  return window.attempts > 0 ? window.failures / window.attempts : 0;
}

/**
 * The destinations worth showing: every configured one, every one a waiting dead letter names, and any the
 * operator looked up (each read with GET /v1/destinations/:host: its defaults when never configured).
 */
function useDestinations(reload: number, extra: string[] = [], waiting?: { items: Json[]; loaded: boolean }) {
  const [state, setState] = useState<{ items: Json[]; error?: string; loaded?: boolean }>({ items: [] });
  const extraKey = extra.join(',');
  // A page that has read the waiting dead letters already (the overview) hands them in instead of a second read.
  const given = waiting?.loaded ? waiting.items : undefined;
  useEffect(() => {
    if (waiting && !waiting.loaded) return;
    let live = true;
    (async () => {
      const configured = await api<{ items: Json[] }>('GET', '/v1/destinations');
      const letters =
        given ?? (await api<{ items: Json[] }>('GET', '/v1/dead-letters?state=dead_lettered&limit=500')).items;
      const known = new Set(configured.items.map((d) => d.host as string));
      const more = [...new Set([...letters.map((l) => l.destination as string), ...extra])]
        .filter((host) => host && !known.has(host))
        .slice(0, 50);
      // One host that cannot be read (a typo, say) is reported, not the whole table lost.
      const settled = await Promise.allSettled(
        more.map((host) => api<Json>('GET', `/v1/destinations/${encodeURIComponent(host)}`)),
      );
      const looked = settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
      const failed = settled.flatMap((result, i) =>
        result.status === 'rejected' ? [`${more[i]}: ${(result.reason as Error).message}`] : [],
      );
      const items = [...configured.items, ...looked].sort((a, b) => String(a.host).localeCompare(String(b.host)));
      if (live) setState({ items, loaded: true, ...(failed.length > 0 ? { error: failed.join('; ') } : {}) });
    })().catch((error: Error) => live && setState({ items: [], error: error.message }));
    return () => {
      live = false;
    };
  }, [reload, extraKey, given]);
  return state;
}

/** The most a bulk redrive counts (the API's limit); more match when the count reaches it. */
const COUNT_LIMIT = 10_000;
/** Dead letters per redrive call, so the page can show progress. */
const CHUNK = 50;

const REASONS = ['', ...DEAD_LETTER_REASONS];

function DeadLetters() {
  const [filter, setFilter] = useState({ reason: '', destination: '', kind: '', since: '', until: '' });
  const [cursor, setCursor] = useState<string>();
  const [reload, setReload] = useState(0);
  const [bulk, setBulk] = useState<{
    matched?: number;
    running?: boolean;
    done?: number;
    result?: { redriven: number; failed: Json[] };
    error?: string;
  }>({});
  const filterQuery = {
    reason: filter.reason || undefined,
    destination: filter.destination || undefined,
    kind: filter.kind || undefined,
    since: filter.since ? new Date(filter.since).toISOString() : undefined,
    until: filter.until ? new Date(filter.until).toISOString() : undefined,
  };
  const list = useApi<{ items: Json[]; nextCursor: string | null }>(
    `/v1/dead-letters${query({ ...filterQuery, state: 'dead_lettered', limit: '50', cursor })}`,
    reload,
  );
  const set = (field: keyof typeof filter) => (event: Event) => {
    setCursor(undefined);
    setBulk({});
    setFilter({ ...filter, [field]: (event.target as HTMLInputElement).value });
  };
  const filterBody = () => Object.fromEntries(Object.entries(filterQuery).filter(([, value]) => value !== undefined));
  const hasFilter = Object.keys(filterBody()).length > 0;
  const count = async () => {
    try {
      const counted = await api<Json>('POST', '/v1/dead-letters/redrive', {
        ...filterBody(),
        ...(hasFilter ? {} : { all: true }),
        dryRun: true,
        limit: COUNT_LIMIT,
      });
      setBulk({ matched: counted.matched as number });
    } catch (error) {
      setBulk({ error: (error as Error).message });
    }
  };
  /**
   * Redrives the filter in chunks, so the page shows how far it got (each chunk is one paced API call); a
   * redriven dead letter no longer matches, so each chunk takes the next ones. Stops when a chunk redrives
   * nothing more (all done, or only failures left).
   */
  const redriveAll = async () => {
    const target = bulk.matched ?? 0;
    let redriven = 0;
    const failed = new Map<string, Json>();
    setBulk({ ...bulk, running: true, done: 0 });
    try {
      while (redriven < target) {
        const chunk = await api<Json>('POST', '/v1/dead-letters/redrive', {
          ...filterBody(),
          ...(hasFilter ? {} : { all: true }),
          limit: Math.min(CHUNK, target - redriven),
        });
        redriven += chunk.redriven as number;
        for (const failure of chunk.failed as Json[]) failed.set(failure.id, failure);
        setBulk((before) => ({ ...before, done: redriven }));
        if ((chunk.redriven as number) === 0) break;
      }
      setBulk({ matched: target, result: { redriven, failed: [...failed.values()] } });
      setReload((n) => n + 1);
    } catch (error) {
      setBulk({ error: `${(error as Error).message} (after ${redriven} redriven)` });
    }
  };
  return (
    <section>
      <h2>Dead letters</h2>
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="filters">
        <label>
          Reason
          <select value={filter.reason} onChange={set('reason')}>
            {REASONS.map((reason) => (
              <option key={reason} value={reason}>
                {reason || 'any'}
              </option>
            ))}
          </select>
        </label>
        <label>
          Destination
          <input value={filter.destination} onChange={set('destination')} placeholder="api.example.com" />
        </label>
        <label>
          Kind
          <select value={filter.kind} onChange={set('kind')}>
            <option value="">any</option>
            {DEAD_LETTER_KINDS.map((kind) => (
              <option key={kind} value={kind}>
                {kind}
              </option>
            ))}
          </select>
        </label>
        <label>
          Since
          <input type="datetime-local" value={filter.since} onChange={set('since')} />
        </label>
        <label>
          Until
          <input type="datetime-local" value={filter.until} onChange={set('until')} />
        </label>
      </form>
      <div class="bulk">
        {bulk.matched === undefined && !bulk.result && (
          <button type="button" onClick={count}>
            Redrive all matching…
          </button>
        )}
        {bulk.matched !== undefined && !bulk.result && (
          <span role="status">
            {bulk.matched === COUNT_LIMIT ? `At least ${COUNT_LIMIT}` : bulk.matched} dead letters match.{' '}
            <button type="button" class="danger" disabled={bulk.running || bulk.matched === 0} onClick={redriveAll}>
              {bulk.running ? `Redriving: ${bulk.done ?? 0} of ${bulk.matched}…` : `Redrive ${bulk.matched}`}
            </button>{' '}
            <button type="button" onClick={() => setBulk({})}>
              Cancel
            </button>
          </span>
        )}
        {bulk.result && (
          <span role="status">
            Redrove {bulk.result.redriven} of {bulk.matched}
            {bulk.result.failed.length ? `; ${bulk.result.failed.length} failed` : ''}.
          </span>
        )}
        <Failure error={bulk.error} />
      </div>
      <Failure error={list.error} />
      <table>
        <thead>
          <tr>
            <th scope="col">Message</th>
            <th scope="col">Reason</th>
            <th scope="col">Destination</th>
            <th scope="col">Attempts</th>
            <th scope="col">Dead-lettered</th>
          </tr>
        </thead>
        <tbody>
          {(list.data?.items ?? []).map((letter) => (
            <tr key={letter.id}>
              <td>
                <a href={`#/dead-letters/${encodeURIComponent(letter.id)}`}>{letter.id}</a>
              </td>
              <td>{letter.reason}</td>
              <td>{letter.destination}</td>
              <td>{letter.attempts.length}</td>
              <td>{when(letter.deadLetteredAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.data?.items.length === 0 && <p>No dead letter waits{hasFilter ? ' for this filter' : ''}.</p>}
      {list.data?.nextCursor && (
        <button type="button" onClick={() => setCursor(list.data!.nextCursor!)}>
          Next page
        </button>
      )}
    </section>
  );
}

function Attempts({ attempts }: { attempts: Json[] }) {
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">Round</th>
          <th scope="col">Attempt</th>
          <th scope="col">Outcome</th>
          <th scope="col">Status</th>
          <th scope="col">Duration</th>
          <th scope="col">Response</th>
          <th scope="col">Then waited</th>
        </tr>
      </thead>
      <tbody>
        {attempts.map((a) => (
          <tr key={`${a.round}-${a.attempt}-${a.startedAt}`}>
            <td>{a.round}</td>
            <td>{a.attempt}</td>
            <td>{a.outcome}</td>
            <td>{a.status ?? a.cause ?? '—'}</td>
            <td>{duration(a.durationMs)}</td>
            <td>
              <code>{a.responseExcerpt || a.error || ''}</code>
            </td>
            <td>{duration(a.nextDelayMs)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function DeadLetter({ id }: { id: string }) {
  const [reload, setReload] = useState(0);
  const letter = useApi<Json>(`/v1/dead-letters/${encodeURIComponent(id)}`, reload);
  const [outcome, setOutcome] = useState<string>();
  const act = async (method: string, path: string, done: string) => {
    try {
      await api(method, path);
      setOutcome(done);
      setReload(reload + 1);
    } catch (error) {
      setOutcome((error as Error).message);
    }
  };
  const data = letter.data;
  return (
    <section>
      <h2>Dead letter {id}</h2>
      <Failure error={letter.error} />
      {data && (
        <>
          <dl class="facts">
            <dt>State</dt>
            <dd>{data.state}</dd>
            <dt>Reason</dt>
            <dd>{data.reason}</dd>
            <dt>Destination</dt>
            <dd>{data.destination}</dd>
            <dt>Kind</dt>
            <dd>{data.kind}</dd>
            <dt>Last error</dt>
            <dd>{data.lastError?.message ?? '—'}</dd>
            <dt>Dead-lettered</dt>
            <dd>{when(data.deadLetteredAt)}</dd>
          </dl>
          {data.state === 'dead_lettered' && (
            <p>
              <button
                type="button"
                onClick={() => act('POST', `/v1/dead-letters/${encodeURIComponent(id)}/redrive`, 'Redriven.')}
              >
                Redrive
              </button>{' '}
              <button
                type="button"
                class="danger"
                onClick={() => {
                  if (confirm(`Discard ${id}? It will never be delivered.`)) {
                    void act('DELETE', `/v1/dead-letters/${encodeURIComponent(id)}`, 'Discarded.');
                  }
                }}
              >
                Discard
              </button>
            </p>
          )}
          {outcome && <p role="status">{outcome}</p>}
          {data.kind === 'message' && (
            <p>
              <a href={`#/messages/${encodeURIComponent(data.message.id)}`}>Follow the message</a>
            </p>
          )}
          <h3>Attempts</h3>
          <Attempts attempts={data.attempts} />
          <h3>Message (credentials redacted)</h3>
          <pre>{JSON.stringify(data.message, null, 2)}</pre>
        </>
      )}
    </section>
  );
}

const TERMINAL = new Set<string>(TERMINAL_STATES);

function Message({ id }: { id: string }) {
  const [reload, setReload] = useState(0);
  const status = useApi<Json>(`/v1/messages/${encodeURIComponent(id)}`, reload);
  const [timeline, setTimeline] = useState<{ position: string; data: Json }[]>([]);
  const [live, setLive] = useState(false);
  const [streamError, setStreamError] = useState<string>();
  useEffect(() => {
    const controller = new AbortController();
    setTimeline([]);
    setStreamError(undefined);
    setLive(true);
    // The log position of the last event seen: the whole history first (0), then only what comes after.
    let last = '0';
    let ended = false;
    const run = async () => {
      // A stream ends at a terminal state; a redrive starts a new run, so follow again while the page is open.
      while (!controller.signal.aborted) {
        try {
          await follow(
            `/v1/messages/${encodeURIComponent(id)}/events`,
            last,
            (event) => {
              if (event.id !== '' && Number(event.id) <= Number(last)) return;
              if (event.id !== '') last = event.id;
              const data = event.data as Json;
              ended = TERMINAL.has(data.state);
              setTimeline((before) => [...before, { position: event.id, data }]);
              setReload((n) => n + 1);
            },
            controller.signal,
          );
        } catch (error) {
          // A refusal (no such message, not this key's, signed out) will not pass by waiting.
          if (error instanceof ApiError && error.status >= 400 && error.status < 500 && error.status !== 429) {
            setStreamError(error.message);
            return;
          }
        }
        // After a terminal state only a redrive brings more: look less often.
        await new Promise((resolve) => setTimeout(resolve, ended ? 5000 : 1000));
      }
    };
    void run().finally(() => setLive(false));
    return () => controller.abort();
  }, [id]);
  // The callbacks that failed for good are dead letters of kind callback, `<id>.callback-<n>`.
  const callbacks = useApi<{ items: Json[] }>('/v1/dead-letters?kind=callback&limit=500', reload);
  const failedCallbacks = (callbacks.data?.items ?? []).filter((letter) =>
    String(letter.id).startsWith(`${id}.callback`),
  );
  const data = status.data;
  return (
    <section>
      <h2>Message {id}</h2>
      <Failure error={status.error} />
      {data && (
        <>
          <dl class="facts">
            <dt>State</dt>
            <dd data-testid="message-state">{data.state}</dd>
            <dt>Destination</dt>
            <dd>{data.destination}</dd>
            <dt>Updated</dt>
            <dd>{when(data.updatedAt)}</dd>
            <dt>Reply</dt>
            <dd>{data.reply ? <pre>{JSON.stringify(data.reply.body ?? data.reply.bodyRef, null, 2)}</pre> : '—'}</dd>
            <dt>Failed callbacks</dt>
            <dd>
              {callbacks.error ? (
                <span class="hint">{callbacks.error}</span>
              ) : failedCallbacks.length === 0 ? (
                'none dead-lettered'
              ) : (
                failedCallbacks.map((letter) => (
                  <div key={letter.id}>
                    <a href={`#/dead-letters/${encodeURIComponent(letter.id)}`}>{letter.callback?.url ?? letter.id}</a>{' '}
                    ({letter.state})
                  </div>
                ))
              )}
            </dd>
          </dl>
          {webUi(id) && (
            <p>
              <a href={webUi(id)} target="_blank" rel="noreferrer">
                Open in the Temporal Web UI
              </a>
            </p>
          )}
          <h3>Attempts</h3>
          <Attempts attempts={data.attempts ?? []} />
        </>
      )}
      <h3>
        Timeline <span class="hint">{live ? '(live)' : ''}</span>
      </h3>
      <Failure error={streamError} />
      <ol class="timeline" aria-live="polite" data-testid="timeline">
        {timeline.map(({ position, data: event }) => (
          <li key={position}>
            <strong>{event.state}</strong> <span class="hint">{when(event.at)}</span>
          </li>
        ))}
      </ol>
    </section>
  );
}

function Messages() {
  const [id, setId] = useState('');
  return (
    <section>
      <h2>Messages</h2>
      <form
        class="filters"
        onSubmit={(event) => {
          event.preventDefault();
          location.hash = `#/messages/${encodeURIComponent(id.trim())}`;
        }}
      >
        <label>
          Message id or idempotency key
          <input value={id} onInput={(e) => setId((e.target as HTMLInputElement).value)} required />
        </label>
        <button type="submit">Look up</button>
      </form>
    </section>
  );
}

function Destinations() {
  const [reload, setReload] = useState(0);
  const [lookup, setLookup] = useState('');
  const [extra, setExtra] = useState<string[]>([]);
  const list = useDestinations(reload, extra);
  const [error, setError] = useState<string>();
  const pause = async (host: string, paused: boolean) => {
    try {
      await api('PATCH', `/v1/destinations/${encodeURIComponent(host)}`, { paused });
      setError(undefined);
      setReload(reload + 1);
    } catch (caught) {
      setError((caught as Error).message);
    }
  };
  return (
    <section>
      <h2>Destinations</h2>
      <form
        class="filters"
        onSubmit={(event) => {
          event.preventDefault();
          if (lookup.trim()) setExtra([...extra, lookup.trim().toLowerCase()]);
        }}
      >
        <label>
          Another destination (host or host:port)
          <input value={lookup} onInput={(e) => setLookup((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit">Show</button>
      </form>
      <Failure error={list.error ?? error} />
      <table>
        <thead>
          <tr>
            <th scope="col">Host</th>
            <th scope="col">State</th>
            <th scope="col">Recent attempts failed</th>
            <th scope="col">Dead letters waiting</th>
            <th scope="col">Action</th>
          </tr>
        </thead>
        <tbody>
          {list.items.map((d) => (
            <tr key={d.host}>
              <td>{d.host}</td>
              <td>
                {d.settings?.paused
                  ? 'paused'
                  : d.breakerSnapshot
                    ? `breaker ${d.breakerSnapshot.state}`
                    : 'open to traffic'}
              </td>
              <td>
                {d.breakerSnapshot
                  ? `${Math.round(failureRatio(d)! * 100)} % of ${d.breakerSnapshot.window.attempts}`
                  : '— (no breaker)'}
              </td>
              <td>{d.deadLettersWaiting}</td>
              <td>
                <button
                  type="button"
                  aria-label={`${d.settings?.paused ? 'Resume' : 'Pause'} ${d.host}`}
                  onClick={() => pause(d.host, !d.settings?.paused)}
                >
                  {d.settings?.paused ? 'Resume' : 'Pause'}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

const PAGES = [
  ['overview', 'Overview'],
  ['dead-letters', 'Dead letters'],
  ['messages', 'Messages'],
  ['destinations', 'Destinations'],
] as const;

function App() {
  const [signedIn, setSignedIn] = useState(session.key() !== null);
  const route = useRoute();
  useEffect(() => {
    const signedOut = () => setSignedIn(false);
    addEventListener(SIGNED_OUT, signedOut);
    return () => removeEventListener(SIGNED_OUT, signedOut);
  }, []);
  const signOut = useCallback(() => session.signOut(), []);
  if (!signedIn) return <SignIn onSignIn={() => setSignedIn(true)} />;
  const [page = 'overview', id] = route;
  return (
    <>
      <header>
        <span class="brand">Herald</span>
        <nav aria-label="pages">
          {PAGES.map(([path, label]) => (
            <a key={path} href={`#/${path}`} aria-current={page === path ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main>
        {page === 'overview' && <Overview />}
        {page === 'dead-letters' && (id ? <DeadLetter key={id} id={id} /> : <DeadLetters />)}
        {page === 'messages' && (id ? <Message key={id} id={id} /> : <Messages />)}
        {page === 'destinations' && <Destinations />}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
