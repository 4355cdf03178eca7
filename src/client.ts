/**
 * Herald's TypeScript client (the package's library entry): send messages over the HTTP API, wait for
 * their outcome, cancel them and operate the dead-letter queue. Typed from the API's own schemas.
 *
 * ```ts
 * const herald = new HeraldClient({ baseUrl: 'http://127.0.0.1:3000', apiKey, outbox: { path: '.data/outbox.sqlite' } });
 * const msg = await herald.send({ destination: { url: 'https://api.example.com/hook' }, body: { hello: 'world' } });
 * const outcome = await msg.result({ timeout: '2m' }); // { state: 'delivered', receipt } or a typed error
 * await herald.close();
 * ```
 */
import type { MessageInput } from './contract/message';
import { newMessageId } from './contract/ids';
import { DeadLetters } from './client/dead-letters';
export type {
  ChangeOptions,
  DestinationChange,
  DestinationChanged,
  Destinations,
  DestinationSettings,
  DestinationView,
  GlobalSettings,
  Retries,
  RetriesChanged,
} from './client/destinations';
import { Destinations, Retries } from './client/destinations';
import { ClientClosedError, OutboxNotConfiguredError } from './client/errors';
import { HeraldHttp } from './client/http';
import { MessageHandle, type HandleContext } from './client/message-handle';
import { Outbox, type Accepted, type OutboundMessage, type OutboxOptions } from './client/outbox';

export * from './client/errors';
export type {
  BulkRedriveFilter,
  BulkRedriveResult,
  DeadLetter,
  DeadLetterFilter,
  DeadLetterPage,
  DeadLetters,
  DiscardResult,
  RedriveResult,
} from './client/dead-letters';
export {
  MessageHandle,
  POLL_BOUNDS_MS,
  type Attempt,
  type MessageResult,
  type ResultOptions,
} from './client/message-handle';
export {
  DEFAULT_OUTBOX_RETRY,
  type Accepted,
  type DrainResult,
  type Outbox,
  type OutboxBackoffEvent,
  type OutboxEvents,
  type OutboxFailedEvent,
  type OutboxOptions,
  type OutboxRetrySettings,
  type OutboxSentEvent,
} from './client/outbox';
export type { FailedEntry } from './client/outbox-store';
export type { MessageInput };
export { newMessageId };

export interface HeraldClientOptions {
  /** Base URL of the Herald API, e.g. `http://127.0.0.1:3000`. */
  baseUrl: string;
  /** An API key (one of HERALD_API_KEYS), sent as `Authorization: Bearer <key>`. */
  apiKey: string;
  /**
   * Longest wait for one API request, connecting included; past it the API counts as unreachable.
   * @defaultValue 10000
   */
  requestTimeoutMs?: number;
  /**
   * A local durable outbox (SQLite). With it, `send()` writes each message to the file before sending
   * it and resolves `queued` when the API is unreachable; a background loop delivers it later, in this
   * process or the next client opened on the same path.
   * @defaultValue none: `send()` talks to the API directly and rejects when it cannot
   */
  outbox?: OutboxOptions;
}

/** What `send()` learned: the API's state for the message, or `queued` when it waits in the outbox. */
export type SendState = Accepted['state'] | 'queued';

/** The handle `send()` resolves with. */
export class SentMessage extends MessageHandle {
  /** @internal */
  constructor(
    id: string,
    context: HandleContext,
    /** `accepted` (or the state of the existing message) once the API took it; `queued` when it is in the outbox. */
    readonly state: SendState,
    /** True when the API already had a message with this id and the same content (a resend). */
    readonly existing: boolean,
  ) {
    super(id, context);
  }
}

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** An outbox entry is held this much longer than a request may take, so a live sender never loses it to another. */
const LEASE_MARGIN_MS = 5_000;

/** A client of one Herald API, optionally with a durable local outbox. Call close() when done. */
export class HeraldClient {
  /** Dead-letter operations: list, get, redrive, redriveMatching, discard. */
  readonly deadLetters: DeadLetters;
  /** Run-time destination settings: list, get, put, patch, pause, resume, history. */
  readonly destinations: Destinations;
  /** The global retry switch: get, set, history. */
  readonly retries: Retries;
  private readonly http: HeraldHttp;
  private readonly outboxInstance: Outbox | undefined;
  private readonly context: HandleContext;
  private closed = false;

  constructor(options: HeraldClientOptions) {
    const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.http = new HeraldHttp({ baseUrl: options.baseUrl, apiKey: options.apiKey, requestTimeoutMs });
    this.deadLetters = new DeadLetters(this.http);
    this.destinations = new Destinations(this.http);
    this.retries = new Retries(this.http);
    if (options.outbox) {
      this.outboxInstance = new Outbox(
        options.outbox,
        (message, signal) => this.submit(message, signal),
        requestTimeoutMs + LEASE_MARGIN_MS,
      );
    }
    const outbox = this.outboxInstance;
    this.context = { http: this.http, localState: outbox ? (id) => outbox.localState(id) : undefined };
  }

  /**
   * The outbox: `configure()`, `pause()`, `resume()`, `pending()`, `drain()`, `failures()`, and the
   * `sent`, `failed` and `backoff` events. Throws OutboxNotConfiguredError on a client made without `outbox`.
   */
  get outbox(): Outbox {
    if (!this.outboxInstance) throw new OutboxNotConfiguredError();
    return this.outboxInstance;
  }

  /** Whether this client has an outbox. */
  get hasOutbox(): boolean {
    return this.outboxInstance !== undefined;
  }

  /**
   * Sends a message; resolves once it is accepted, with a handle (`id`, `state`, `existing`). Without an
   * `id`, the client assigns one (`msg_…`) first, so sending the handle's message again is idempotent.
   *
   * Rejects with HeraldApiError when the API refuses it (400, 401, 409, 413, 415, 422). Without an
   * outbox it also rejects when the API is unreachable (HeraldUnreachableError), answers 5xx, or answers
   * 429 because Temporal is behind (admission control: send the same message again after the error's
   * `retryAfterMs`); with one, it resolves with state `queued` instead and the outbox sends it later,
   * waiting at least the Retry-After (up to its `maximumIntervalMs`).
   */
  async send(message: MessageInput): Promise<SentMessage> {
    if (this.closed) throw new ClientClosedError();
    const outbound: OutboundMessage = { ...message, id: message.id ?? newMessageId() };
    if (!this.outboxInstance) {
      const accepted = await this.submit(outbound);
      return new SentMessage(accepted.id, this.context, accepted.state, accepted.existing);
    }
    const sent = await this.outboxInstance.send(outbound);
    return sent.queued
      ? new SentMessage(outbound.id, this.context, 'queued', false)
      : new SentMessage(sent.accepted.id, this.context, sent.accepted.state, sent.accepted.existing);
  }

  /** A handle on a message sent earlier (by this process or any other): status, result, cancel. */
  message(id: string): MessageHandle {
    return new MessageHandle(id, this.context);
  }

  /** Stops the outbox loop (requests under way are aborted; their messages stay queued) and closes its file. */
  async close(): Promise<void> {
    this.closed = true;
    await this.outboxInstance?.close();
  }

  private async submit(message: OutboundMessage, signal?: AbortSignal): Promise<Accepted> {
    const response = await this.http.call<Accepted>('POST', '/v1/messages', {
      json: message,
      headers: { 'idempotency-key': message.id },
      signal,
    });
    return response.body;
  }
}
