/** `herald.destinations` and `herald.retries`: run-time destination settings over /v1/destinations and /v1/settings/retries. */
import type { Static } from '@sinclair/typebox';
import type {
  DestinationChangedSchema,
  DestinationHistorySchema,
  DestinationViewSchema,
  RetriesChangedSchema,
} from '../api/destination-schemas';
import type { DestinationChange, DestinationSettings, GlobalSettings } from '../contract/destination';
import type { HeraldHttp } from './http';

export type { DestinationChange, DestinationSettings, GlobalSettings };
/** A destination with its settings and current numbers (breaker, leases, dead letters, running messages). */
export type DestinationView = Static<typeof DestinationViewSchema>;
/** A destination after a change, and whether waiting messages are being woken. */
export type DestinationChanged = Static<typeof DestinationChangedSchema>;
export type RetriesChanged = Static<typeof RetriesChangedSchema>;
type History = Static<typeof DestinationHistorySchema>;

/** Options of a change: `ifMatch` is the version read (a stale one is HeraldApiError 412). */
export interface ChangeOptions {
  ifMatch?: number;
}

const path = (host: string) => `/v1/destinations/${encodeURIComponent(host)}`;
const ifMatchHeaders = (options: ChangeOptions): Record<string, string> =>
  options.ifMatch === undefined ? {} : { 'if-match': `"${options.ifMatch}"` };

/** Destination operations (`herald.destinations`). */
export class Destinations {
  /** @internal Made by HeraldClient. */
  constructor(private readonly http: HeraldHttp) {}

  /** Every destination with settings, with its current numbers. */
  async list(): Promise<DestinationView[]> {
    return (await this.http.call<{ items: DestinationView[] }>('GET', '/v1/destinations')).body.items;
  }

  /** One destination (its defaults, version 0, when never configured). */
  async get(host: string): Promise<DestinationView> {
    return (await this.http.call<DestinationView>('GET', path(host))).body;
  }

  /** Replaces the settings. */
  async put(host: string, settings: DestinationSettings, options: ChangeOptions = {}): Promise<DestinationChanged> {
    return (
      await this.http.call<DestinationChanged>('PUT', path(host), { json: settings, headers: ifMatchHeaders(options) })
    ).body;
  }

  /** Merges the settings; `null` clears a field. */
  async patch(host: string, partial: DestinationSettings, options: ChangeOptions = {}): Promise<DestinationChanged> {
    return (
      await this.http.call<DestinationChanged>('PATCH', path(host), { json: partial, headers: ifMatchHeaders(options) })
    ).body;
  }

  /** No attempt is made to the destination until resumed. */
  pause(host: string): Promise<DestinationChanged> {
    return this.patch(host, { paused: true });
  }

  /** Attempts go again; waiting messages are woken, paced. */
  resume(host: string): Promise<DestinationChanged> {
    return this.patch(host, { paused: false });
  }

  /** The destination's history, newest first. */
  async history(host: string, options: { limit?: number; before?: number } = {}): Promise<DestinationChange[]> {
    return (await this.http.call<History>('GET', `${path(host)}/history`, { query: { ...options } })).body.items;
  }
}

/** The global retry switch (`herald.retries`). */
export class Retries {
  /** @internal Made by HeraldClient. */
  constructor(private readonly http: HeraldHttp) {}

  async get(): Promise<GlobalSettings> {
    return (await this.http.call<GlobalSettings>('GET', '/v1/settings/retries')).body;
  }

  /** `off`: failed attempts are not retried until `on` again. */
  async set(retries: 'on' | 'off', note?: string): Promise<RetriesChanged> {
    const json = note === undefined ? { retries } : { retries, note };
    return (await this.http.call<RetriesChanged>('PUT', '/v1/settings/retries', { json })).body;
  }

  async history(): Promise<DestinationChange[]> {
    return (await this.http.call<History>('GET', '/v1/settings/retries/history')).body.items;
  }
}
