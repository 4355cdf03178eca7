/**
 * `herald destinations …` and `herald retries …`: run-time destination settings and the global retry
 * switch from the command line.
 */
import type { DestinationSettings, DestinationView } from '../../client';
import { ExitCode, UsageError } from '../exit-codes';
import { printResult, type CliIo } from '../io';
import { apiSettings, cliClient, durationFlag, expectPositionals, parseCommand } from '../options';
import { table } from '../status-text';

const COMMON = { url: { type: 'string' } } as const;
const SET_OPTIONS = {
  ...COMMON,
  'rate-limit': { type: 'string' },
  'max-concurrency': { type: 'string' },
  'retry-initial': { type: 'string' },
  'retry-max-interval': { type: 'string' },
  'retry-coefficient': { type: 'string' },
  'retry-attempts': { type: 'string' },
  'retry-jitter': { type: 'string' },
  'attempt-timeout': { type: 'string' },
  'retry-clear': { type: 'boolean', default: false },
  'breaker-ratio': { type: 'string' },
  'breaker-window': { type: 'string' },
  'breaker-min-attempts': { type: 'string' },
  'breaker-consecutive': { type: 'string' },
  'breaker-cooldown': { type: 'string' },
  'breaker-probes': { type: 'string' },
  'breaker-off': { type: 'boolean', default: false },
} as const;

function client(io: CliIo, values: { url?: string; 'api-url'?: string; 'api-key'?: string }) {
  return cliClient(apiSettings(io, { apiUrl: values['api-url'] ?? values.url, apiKey: values['api-key'] }));
}

function numberFlag(value: string, flag: string, integer = false): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${flag} must be a ${integer ? 'whole ' : ''}number (got ${value})`);
  }
  return n;
}

/** A limit flag: a number, or `off` to clear it. */
function limitFlag(value: string, flag: string, integer: boolean): number | null {
  return value === 'off' ? null : numberFlag(value, flag, integer);
}

function describe(view: DestinationView): string {
  const s = view.settings;
  const lines = [
    `${view.host} (version ${view.version}, by ${view.updatedBy} at ${view.updatedAt})`,
    `  paused:          ${s.paused === true ? 'yes' : 'no'}`,
    `  rate limit:      ${s.rateLimit ?? 'none'}${s.rateLimit ? '/s' : ''}`,
    `  max concurrency: ${s.maxConcurrency ?? 'none'}`,
    `  retry override:  ${s.retry ? JSON.stringify(s.retry) : 'none'}`,
    `  breaker:         ${s.circuitBreaker ? JSON.stringify(s.circuitBreaker) : 'none'}${view.breakerSnapshot ? ` (${view.breakerSnapshot.state})` : ''}`,
    `  running:         ${view.running.delivering} delivering, ${view.running.paused} paused, ${view.running.awaiting_reply} awaiting reply`,
    `  in flight:       ${view.leasesInFlight}`,
    `  dead letters:    ${view.deadLettersWaiting} waiting`,
  ];
  return lines.join('\n');
}

export async function destinationsCommand(args: string[], io: CliIo): Promise<number | 'help'> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'list': {
      const { values, positionals, json, help } = parseCommand(rest, COMMON);
      if (help) return 'help';
      expectPositionals(positionals, 0, 'nothing');
      const items = await client(io, values).destinations.list();
      printResult(io, json, items, () => {
        if (items.length === 0) return 'no destination has settings';
        const rows = items.map((d) => [
          d.host,
          d.settings.paused === true ? 'paused' : 'on',
          String(d.settings.rateLimit ?? '-'),
          String(d.settings.maxConcurrency ?? '-'),
          d.breakerSnapshot?.state ?? '-',
          String(d.running.delivering + d.running.paused),
          String(d.deadLettersWaiting),
        ]);
        return table([['HOST', 'STATE', 'RATE', 'CONCURRENCY', 'BREAKER', 'WAITING', 'DEAD-LETTERS'], ...rows]);
      });
      return ExitCode.ok;
    }
    case 'show': {
      const { values, positionals, json, help } = parseCommand(rest, COMMON);
      if (help) return 'help';
      const [host] = expectPositionals(positionals, 1, 'a destination host');
      const view = await client(io, values).destinations.get(host!);
      printResult(io, json, view, () => describe(view));
      return ExitCode.ok;
    }
    case 'pause':
    case 'resume': {
      const { values, positionals, json, help } = parseCommand(rest, COMMON);
      if (help) return 'help';
      const [host] = expectPositionals(positionals, 1, 'a destination host');
      const herald = client(io, values);
      const result = sub === 'pause' ? await herald.destinations.pause(host!) : await herald.destinations.resume(host!);
      printResult(io, json, result, () =>
        sub === 'pause'
          ? `${result.host} paused (version ${result.version})`
          : `${result.host} resumed (version ${result.version})${result.woken.requested ? '; waiting messages are being woken, paced' : ''}`,
      );
      return ExitCode.ok;
    }
    case 'set':
      return setCommand(rest, io);
    case 'history': {
      const { values, positionals, json, help } = parseCommand(rest, COMMON);
      if (help) return 'help';
      const [host] = expectPositionals(positionals, 1, 'a destination host');
      const items = await client(io, values).destinations.history(host!);
      printResult(io, json, items, () =>
        items.length === 0
          ? `no history for ${host}`
          : table([
              ['AT', 'ACTOR', 'KIND', 'AFTER', 'NOTE'],
              ...items.map((c) => [c.at, c.actor, c.kind, JSON.stringify(c.after), c.note ?? '']),
            ]),
      );
      return ExitCode.ok;
    }
    case undefined:
    case '-h':
    case '--help':
      return 'help';
    default:
      throw new UsageError(`unknown destinations command: ${sub} (use list, show, pause, resume, set or history)`);
  }
}

async function setCommand(args: string[], io: CliIo): Promise<number | 'help'> {
  const { values, positionals, json, help } = parseCommand(args, SET_OPTIONS);
  if (help) return 'help';
  const [host] = expectPositionals(positionals, 1, 'a destination host');
  const patch: DestinationSettings = {};
  if (values['rate-limit'] !== undefined) patch.rateLimit = limitFlag(values['rate-limit'], 'rate-limit', false);
  if (values['max-concurrency'] !== undefined) {
    patch.maxConcurrency = limitFlag(values['max-concurrency'], 'max-concurrency', true);
  }
  const retry: NonNullable<DestinationSettings['retry']> = {};
  if (values['retry-initial'] !== undefined)
    retry.initialInterval = durationFlag(values['retry-initial'], 'retry-initial');
  if (values['retry-max-interval'] !== undefined) {
    retry.maximumInterval = durationFlag(values['retry-max-interval'], 'retry-max-interval');
  }
  if (values['retry-coefficient'] !== undefined) {
    retry.backoffCoefficient = numberFlag(values['retry-coefficient'], 'retry-coefficient');
  }
  if (values['retry-attempts'] !== undefined) {
    retry.maximumAttempts = numberFlag(values['retry-attempts'], 'retry-attempts', true);
  }
  if (values['retry-jitter'] !== undefined) retry.jitter = numberFlag(values['retry-jitter'], 'retry-jitter');
  if (values['attempt-timeout'] !== undefined) {
    retry.attemptTimeout = durationFlag(values['attempt-timeout'], 'attempt-timeout');
  }
  if (values['retry-clear'] && Object.keys(retry).length > 0) {
    throw new UsageError('give either --retry-clear or --retry-* flags, not both');
  }
  if (values['retry-clear']) patch.retry = null;
  else if (Object.keys(retry).length > 0) patch.retry = retry;
  const breakerFlags = [
    'breaker-ratio',
    'breaker-window',
    'breaker-min-attempts',
    'breaker-consecutive',
    'breaker-cooldown',
    'breaker-probes',
  ] as const;
  const someBreaker = breakerFlags.some((flag) => values[flag] !== undefined);
  if (values['breaker-off'] && someBreaker)
    throw new UsageError('give either --breaker-off or --breaker-* flags, not both');
  if (values['breaker-off']) patch.circuitBreaker = null;
  else if (someBreaker) {
    const need = (flag: 'breaker-window' | 'breaker-min-attempts' | 'breaker-cooldown') => {
      const value = values[flag];
      if (value === undefined) throw new UsageError(`a breaker needs --${flag}`);
      return value;
    };
    patch.circuitBreaker = {
      failureRatio: values['breaker-ratio'] !== undefined ? numberFlag(values['breaker-ratio'], 'breaker-ratio') : 0.5,
      window: durationFlag(need('breaker-window'), 'breaker-window'),
      minimumAttempts: numberFlag(need('breaker-min-attempts'), 'breaker-min-attempts', true),
      cooldown: durationFlag(need('breaker-cooldown'), 'breaker-cooldown'),
      probes: values['breaker-probes'] !== undefined ? numberFlag(values['breaker-probes'], 'breaker-probes', true) : 1,
      ...(values['breaker-consecutive'] !== undefined
        ? { consecutiveFailures: numberFlag(values['breaker-consecutive'], 'breaker-consecutive', true) }
        : {}),
    };
  }
  if (Object.keys(patch).length === 0) throw new UsageError('set what? give at least one setting flag');
  const result = await client(io, values).destinations.patch(host!, patch);
  printResult(io, json, result, () => `${result.host} changed (version ${result.version})`);
  return ExitCode.ok;
}

/** `herald retries on|off|status`. */
export async function retriesCommand(args: string[], io: CliIo): Promise<number | 'help'> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '-h' || sub === '--help') return 'help';
  const { values, positionals, json, help } = parseCommand(rest, COMMON);
  if (help) return 'help';
  expectPositionals(positionals, 0, 'nothing');
  const herald = client(io, values);
  if (sub === 'status') {
    const settings = await herald.retries.get();
    printResult(io, json, settings, () => `retries are ${settings.retries}`);
    return ExitCode.ok;
  }
  if (sub !== 'on' && sub !== 'off') throw new UsageError(`unknown retries command: ${sub} (use on, off or status)`);
  const result = await herald.retries.set(sub);
  printResult(io, json, result, () => `retries are ${result.retries}`);
  return ExitCode.ok;
}
