/**
 * Listing messages through Temporal visibility: the query built from filters, the page decoded into
 * summaries, and cursors that wrap Temporal's page token.
 */
import type { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { createHash } from 'node:crypto';
import { MESSAGE_WORKFLOW_CLAUSE } from '../contract/definitions';
import type { MessageState } from '../contract/message-status';
import type { MessageList } from '../contract/operation-results';
import { HERALD_DESTINATION, HERALD_SENDER, HERALD_STATE } from '../contract/search-attributes';
import { endedRunState } from './ended-runs';
import { InvalidListCursorError } from './operation-errors';

export interface MessageListFilter {
  state?: MessageState;
  /** Destination host (or host:port). */
  destination?: string;
  /** ISO date-time: messages started at or after it. */
  since?: string;
  /** Only the messages this API key sent (HeraldSender): a sender key's list. */
  sender?: string;
}

/**
 * One page of messages, newest first. Filter values must be schema-checked by the caller (state enum,
 * host pattern, ISO date-time), so they cannot break out of the query's quotes.
 */
export async function listMessages(
  client: Client,
  namespace: string,
  filter: MessageListFilter,
  pageSize: number,
  cursor: string | undefined,
): Promise<MessageList> {
  const clauses = [MESSAGE_WORKFLOW_CLAUSE];
  if (filter.state) clauses.push(stateClause(filter.state));
  if (filter.destination) clauses.push(`${HERALD_DESTINATION.name} = '${filter.destination}'`);
  if (filter.since) clauses.push(`StartTime >= '${filter.since}'`);
  // Key names hold no quotes or backslashes (config.ts refuses them).
  if (filter.sender !== undefined) clauses.push(`${HERALD_SENDER.name} = '${filter.sender}'`);
  const query = clauses.join(' AND ');
  const page = await client.workflowService.listWorkflowExecutions({
    namespace,
    query,
    pageSize,
    nextPageToken: cursor ? openCursor(cursor, query) : undefined,
  });
  const keyword = (fields: Record<string, Payload> | null | undefined, name: string): string | null => {
    const payload = fields?.[name];
    if (!payload) return null;
    const value: unknown = client.options.loadedDataConverter.payloadConverter.fromPayload(payload);
    return typeof value === 'string' ? value : null;
  };
  const items = (page.executions ?? []).map((execution) => {
    const fields = execution.searchAttributes?.indexedFields;
    return {
      id: execution.execution?.workflowId ?? '',
      // A run Temporal ended keeps the search attribute it had: its execution status says how it ended.
      state: endedRunState(workflowStatusName(execution.status)) ?? keyword(fields, HERALD_STATE.name),
      destination: keyword(fields, HERALD_DESTINATION.name),
      workflowStatus: workflowStatusName(execution.status),
      startedAt: new Date(timestampMs(execution.startTime) ?? 0).toISOString(),
      closedAt: closedAt(execution.closeTime),
    };
  });
  const token = page.nextPageToken;
  return { items, nextCursor: token && token.length > 0 ? sealCursor(token, query) : null };
}

/**
 * The visibility clause for a Herald state. Terminated and timed-out runs are found by execution status
 * (their HeraldState is the state they had), and are left out of every other state's list.
 */
function stateClause(state: MessageState): string {
  if (state === 'terminated') return `ExecutionStatus = 'Terminated'`;
  if (state === 'timed_out') return `ExecutionStatus = 'TimedOut'`;
  return `${HERALD_STATE.name} = '${state}' AND ExecutionStatus != 'Terminated' AND ExecutionStatus != 'TimedOut'`;
}

interface Timestamp {
  seconds?: { toString(): string } | number | null;
  nanos?: number | null;
}

/** Milliseconds of a protobuf Timestamp (seconds may be a Long), or undefined when there is none. */
function timestampMs(ts: Timestamp | null | undefined): number | undefined {
  if (!ts) return undefined;
  return Number(ts.seconds ?? 0) * 1000 + Math.floor((ts.nanos ?? 0) / 1_000_000);
}

function closedAt(ts: Timestamp | null | undefined): string | null {
  const ms = timestampMs(ts);
  return ms === undefined ? null : new Date(ms).toISOString();
}

/**
 * Cursors wrap Temporal's page token with a hash of the query it belongs to: a cursor that is not one
 * of ours, or is used with other filters, is refused at once (InvalidListCursorError) instead of reaching Temporal.
 */
function sealCursor(token: Uint8Array, query: string): string {
  return Buffer.from(JSON.stringify({ q: queryHash(query), t: Buffer.from(token).toString('base64') })).toString(
    'base64url',
  );
}

function openCursor(cursor: string, query: string): Buffer {
  try {
    const { q, t } = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { q?: unknown; t?: unknown };
    if (q === queryHash(query) && typeof t === 'string') return Buffer.from(t, 'base64');
  } catch {
    // fall through
  }
  throw new InvalidListCursorError();
}

function queryHash(query: string): string {
  return createHash('sha256').update(query).digest('base64url').slice(0, 16);
}

const WORKFLOW_STATUS_NAMES = [
  'UNSPECIFIED',
  'RUNNING',
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'TERMINATED',
  'CONTINUED_AS_NEW',
  'TIMED_OUT',
];

function workflowStatusName(status: number | null | undefined): string {
  return WORKFLOW_STATUS_NAMES[status ?? 0] ?? 'UNKNOWN';
}
