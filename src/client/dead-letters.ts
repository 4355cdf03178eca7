/** `herald.deadLetters`: list, inspect, redrive and discard dead letters over /v1/dead-letters. */
import type { Static } from '@sinclair/typebox';
import type {
  BulkRedriveInputSchema,
  DeadLetterListSchema,
  DiscardResultSchema,
  ListDeadLettersQuerySchema,
} from '../api/schemas';
import type { DeadLetterRecordSchema } from '../contract/dead-letter';
import type { BulkRedriveResultSchema, RedriveResultSchema } from '../contract/operation-results';
import type { HeraldHttp } from './http';

/** One dead letter: the message, why it was parked, its last error and every attempt. */
export type DeadLetter = Static<typeof DeadLetterRecordSchema>;
/** A page of dead letters, oldest first; pass `nextCursor` back as `cursor` for the next one. */
export type DeadLetterPage = Static<typeof DeadLetterListSchema>;
/** Filters of GET /v1/dead-letters (`limit` as a number here: 1 to 500, default 50). */
export type DeadLetterFilter = Omit<Static<typeof ListDeadLettersQuerySchema>, 'limit'> & { limit?: number };
export type RedriveResult = Static<typeof RedriveResultSchema>;
/**
 * Filters of a bulk redrive (POST /v1/dead-letters/redrive): at least one filter, or `all: true`;
 * `dryRun: true` only counts; `limit` defaults to 1000 on the server.
 */
export type BulkRedriveFilter = Static<typeof BulkRedriveInputSchema>;
export type BulkRedriveResult = Static<typeof BulkRedriveResultSchema>;
export type DiscardResult = Static<typeof DiscardResultSchema>;

/** Dead-letter operations (`herald.deadLetters`). */
export class DeadLetters {
  /** @internal Made by HeraldClient. */
  constructor(private readonly http: HeraldHttp) {}

  /** One page of dead letters matching the filter, oldest first. */
  async list(filter: DeadLetterFilter = {}): Promise<DeadLetterPage> {
    return (await this.http.call<DeadLetterPage>('GET', '/v1/dead-letters', { query: { ...filter } })).body;
  }

  /** Every dead letter matching the filter, page after page (`filter.limit` is the page size). */
  async *all(filter: Omit<DeadLetterFilter, 'cursor'> = {}): AsyncGenerator<DeadLetter> {
    let cursor: string | undefined;
    do {
      const page = await this.list({ ...filter, cursor });
      yield* page.items;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  /** One dead letter; HeraldApiError 404 when there is none for this id. */
  async get(id: string): Promise<DeadLetter> {
    return (await this.http.call<DeadLetter>('GET', `/v1/dead-letters/${encodeURIComponent(id)}`)).body;
  }

  /**
   * Delivers the message again, same id: a parked workflow resumes (`mode: 'resumed'`), one whose
   * retention ended starts a new run (`mode: 'restarted'`). HeraldApiError 409 when it is not a parked dead letter.
   */
  async redrive(id: string): Promise<RedriveResult> {
    return (await this.http.call<RedriveResult>('POST', `/v1/dead-letters/${encodeURIComponent(id)}/redrive`)).body;
  }

  /**
   * Redrives every parked dead letter matching the filter, paced by the server (HERALD_REDRIVE_RATE).
   * Give a filter, or `{ all: true }` for every one (HeraldApiError 400 otherwise); `dryRun: true`
   * answers how many match (`matched`) and redrives nothing.
   */
  async redriveMatching(filter: BulkRedriveFilter): Promise<BulkRedriveResult> {
    return (await this.http.call<BulkRedriveResult>('POST', '/v1/dead-letters/redrive', { json: filter })).body;
  }

  /** Gives up on a dead letter: the record is marked discarded and its parked workflow ends. */
  async discard(id: string): Promise<DiscardResult> {
    return (await this.http.call<DiscardResult>('DELETE', `/v1/dead-letters/${encodeURIComponent(id)}`)).body;
  }
}
