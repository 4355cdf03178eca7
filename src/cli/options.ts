/**
 * Command-line parsing shared by the commands (node:util parseArgs, strict), and where the API's
 * address and key come from: a flag, else the environment, else the defaults `npm start` sets up.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { HeraldClient } from '../client';
import { parseDuration } from '../contract/duration';
import { UsageError } from './exit-codes';
import type { CliIo } from './io';

type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

export const DEFAULT_API_URL = 'http://127.0.0.1:3000';

/** Options every command takes. `--url` is added as the API's address on commands other than `send`. */
const COMMON_OPTIONS = {
  'api-url': { type: 'string' },
  'api-key': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies OptionSpecs;

export interface ParsedCommand<O extends OptionSpecs> {
  values: ReturnType<typeof parseArgs<{ options: O & typeof COMMON_OPTIONS; allowPositionals: true }>>['values'];
  positionals: string[];
  json: boolean;
  help: boolean;
}

/** Parses one command's arguments; UsageError for anything parseArgs refuses. */
export function parseCommand<O extends OptionSpecs>(args: string[], options: O): ParsedCommand<O> {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: { ...options, ...COMMON_OPTIONS },
      allowPositionals: true,
      strict: true,
    });
    const common = values as { json?: boolean; help?: boolean };
    return {
      values: values as ParsedCommand<O>['values'],
      positionals,
      json: common.json === true,
      help: common.help === true,
    };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export interface ApiSettings {
  baseUrl: string;
  apiKey: string;
}

/**
 * The API's address and key: `--api-url` (or `--url` where it is not the destination), `HERALD_URL`,
 * or http://127.0.0.1:3000; `--api-key`, `HERALD_API_KEY`, or the dev key `npm start` keeps in
 * `$HERALD_DATA_DIR/dev-api-key` (`.data/dev-api-key`).
 */
export function apiSettings(io: CliIo, flags: { apiUrl?: string; apiKey?: string }): ApiSettings {
  const baseUrl = flags.apiUrl ?? nonEmpty(io.env.HERALD_URL) ?? DEFAULT_API_URL;
  try {
    const url = new URL(baseUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new UsageError(`the API URL must be an http(s) URL (got ${baseUrl})`);
  }
  const keyFile = resolve(io.cwd, nonEmpty(io.env.HERALD_DATA_DIR) ?? '.data', 'dev-api-key');
  const apiKey =
    flags.apiKey ??
    nonEmpty(io.env.HERALD_API_KEY) ??
    (existsSync(keyFile) ? nonEmpty(readFileSync(keyFile, 'utf8').trim()) : undefined);
  if (!apiKey) {
    throw new UsageError(
      `no API key: pass --api-key, set HERALD_API_KEY, or run \`npm start\` here (it writes ${join('.data', 'dev-api-key')})`,
    );
  }
  return { baseUrl, apiKey };
}

/** A client for one command (no outbox: the CLI reports what the API says, now). */
export function cliClient(settings: ApiSettings): HeraldClient {
  return new HeraldClient(settings);
}

/** A duration flag in milliseconds; UsageError naming the flag when it is not one. */
export function durationFlag(value: string, flag: string): number {
  const ms = parseDuration(value);
  if (ms === undefined) throw new UsageError(`--${flag} must be a duration like 30s, 5m or 2h (got ${value})`);
  return ms;
}

/** Exactly `count` positionals, or a UsageError saying what was expected. */
export function expectPositionals(positionals: string[], count: number, what: string): string[] {
  if (positionals.length !== count) {
    throw new UsageError(
      positionals.length < count ? `missing ${what}` : `unexpected argument: ${positionals.slice(count).join(' ')}`,
    );
  }
  return positionals;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
