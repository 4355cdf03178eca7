/** `herald dlq list` and `herald dlq redrive`: the dead-letter queue from the command line. */
import { HeraldApiError, isTransientFailure, type BulkRedriveResult, type DeadLetterFilter } from '../../client';
import { DEAD_LETTER_REASONS } from '../../api/schemas';
import { ExitCode, UsageError } from '../exit-codes';
import { note, printResult, ProgressReporter, type CliIo } from '../io';
import { apiSettings, cliClient, expectPositionals, parseCommand } from '../options';
import { table } from '../status-text';

const RECORD_STATES = ['dead_lettered', 'redriven', 'discarded'] as const;
const KINDS = ['message', 'callback'] as const;

const FILTER_OPTIONS = {
  url: { type: 'string' },
  reason: { type: 'string' },
  destination: { type: 'string' },
  kind: { type: 'string' },
} as const;

const LIST_OPTIONS = {
  ...FILTER_OPTIONS,
  state: { type: 'string' },
  limit: { type: 'string' },
  cursor: { type: 'string' },
} as const;

const REDRIVE_OPTIONS = { ...FILTER_OPTIONS, all: { type: 'boolean', default: false } } as const;

/** Pages of this size are read when collecting the dead letters to redrive. */
const COLLECT_PAGE_SIZE = 500;

export async function deadLetterCommand(args: string[], io: CliIo): Promise<number | 'help'> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'list':
      return listCommand(rest, io);
    case 'redrive':
      return redriveCommand(rest, io);
    case undefined:
    case '-h':
    case '--help':
      return 'help';
    default:
      throw new UsageError(`unknown dlq command: ${sub} (use list or redrive)`);
  }
}

async function listCommand(args: string[], io: CliIo): Promise<number | 'help'> {
  const { values, positionals, json, help } = parseCommand(args, LIST_OPTIONS);
  if (help) return 'help';
  expectPositionals(positionals, 0, 'nothing');
  const filter: DeadLetterFilter = {
    ...filterFlags(values),
    ...(values.state !== undefined ? { state: oneOf(values.state, RECORD_STATES, 'state') } : {}),
    ...(values.limit !== undefined ? { limit: pageLimit(values.limit) } : {}),
    ...(values.cursor !== undefined ? { cursor: values.cursor } : {}),
  };
  const herald = cliClient(apiSettings(io, { apiUrl: values['api-url'] ?? values.url, apiKey: values['api-key'] }));
  const page = await herald.deadLetters.list(filter);
  printResult(io, json, page, () => {
    if (page.items.length === 0) return 'no dead letters match';
    const rows = page.items.map((item) => [
      item.id,
      item.kind,
      item.state,
      item.reason,
      item.destination,
      String(item.attempts.length),
      item.deadLetteredAt,
    ]);
    return table([['ID', 'KIND', 'STATE', 'REASON', 'DESTINATION', 'ATTEMPTS', 'DEAD-LETTERED'], ...rows]);
  });
  if (page.nextCursor && !json) note(io, `more dead letters match: add --cursor ${page.nextCursor}`);
  return ExitCode.ok;
}

async function redriveCommand(args: string[], io: CliIo): Promise<number | 'help'> {
  const { values, positionals, json, help } = parseCommand(args, REDRIVE_OPTIONS);
  if (help) return 'help';
  if (positionals.length > 1) throw new UsageError(`unexpected argument: ${positionals.slice(1).join(' ')}`);
  const [id] = positionals;
  const filter = filterFlags(values);
  const filtered = Object.keys(filter).length > 0;
  if (id !== undefined && (filtered || values.all)) {
    throw new UsageError('give either an id or filters (--reason, --destination, --kind, --all), not both');
  }
  if (id === undefined && !filtered && !values.all) {
    throw new UsageError(
      'redrive what? give an id, a filter (--reason, --destination, --kind), or --all for every dead letter',
    );
  }
  const herald = cliClient(apiSettings(io, { apiUrl: values['api-url'] ?? values.url, apiKey: values['api-key'] }));

  if (id !== undefined) {
    const result = await herald.deadLetters.redrive(id);
    printResult(io, json, result, () => `${result.id} redriven (${result.mode}); now ${result.state}`);
    return ExitCode.ok;
  }

  // Collect first (so progress has a total), then redrive one by one: each redrive is one request,
  // so an operator sees exactly which ones the API refused.
  const ids: string[] = [];
  for await (const record of herald.deadLetters.all({ ...filter, state: 'dead_lettered', limit: COLLECT_PAGE_SIZE })) {
    ids.push(record.id);
  }
  const result: BulkRedriveResult = { matched: ids.length, redriven: 0, failed: [] };
  if (ids.length === 0) {
    note(io, 'no parked dead letters match');
  } else {
    const progress = new ProgressReporter(io, ids.length, 'redriven');
    let done = 0;
    for (const next of ids) {
      try {
        await herald.deadLetters.redrive(next);
        result.redriven += 1;
      } catch (error) {
        // Unreachable: stop here, the rest would fail the same way. A refusal concerns this one only.
        if (isTransientFailure(error) || !(error instanceof HeraldApiError)) throw error;
        result.failed.push({ id: next, detail: error.problem.detail ?? error.message });
        progress.note(`failed ${next}: ${error.problem.detail ?? error.message}`);
      }
      done += 1;
      progress.update(done);
    }
  }
  printResult(io, json, result, () => {
    const failed = result.failed.length > 0 ? ` (${result.failed.length} failed)` : '';
    return `redriven ${result.redriven} of ${result.matched}${failed}`;
  });
  return result.failed.length > 0 ? ExitCode.refused : ExitCode.ok;
}

function filterFlags(values: { reason?: string; destination?: string; kind?: string }): DeadLetterFilter {
  return {
    ...(values.kind !== undefined ? { kind: oneOf(values.kind, KINDS, 'kind') } : {}),
    ...(values.reason !== undefined ? { reason: oneOf(values.reason, DEAD_LETTER_REASONS, 'reason') } : {}),
    ...(values.destination !== undefined ? { destination: values.destination } : {}),
  };
}

function oneOf<T extends string>(value: string, allowed: readonly T[], flag: string): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`--${flag} must be one of ${allowed.join(', ')} (got ${value})`);
  }
  return value as T;
}

function pageLimit(value: string): number {
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
    throw new UsageError(`--limit must be a whole number from 1 to 500 (got ${value})`);
  }
  return limit;
}
