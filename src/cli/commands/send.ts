/** `herald send`: build a message from flags, send it, and with --wait follow it to its end. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { MessageInput } from '../../client';
import { HTTP_METHODS, ORDERING_DEAD_LETTER_MODES, type OrderingDeadLetterMode } from '../../contract/message';
import { ExitCode, UsageError } from '../exit-codes';
import { printResult, type CliIo } from '../io';
import { apiSettings, cliClient, durationFlag, expectPositionals, parseCommand } from '../options';
import { waitForOutcome } from './wait';

const OPTIONS = {
  url: { type: 'string' },
  data: { type: 'string' },
  method: { type: 'string', default: 'POST' },
  header: { type: 'string', multiple: true },
  id: { type: 'string' },
  'reply-timeout': { type: 'string' },
  'ordering-key': { type: 'string' },
  'ordering-dead-letter': { type: 'string' },
  wait: { type: 'boolean', default: false },
  timeout: { type: 'string', default: '2m' },
} as const;

export async function sendCommand(args: string[], io: CliIo): Promise<number | 'help'> {
  const { values, positionals, json, help } = parseCommand(args, OPTIONS);
  if (help) return 'help';
  expectPositionals(positionals, 0, 'nothing');
  if (!values.url) throw new UsageError('send needs --url (the destination)');
  const method = values.method.toUpperCase();
  if (!(HTTP_METHODS as readonly string[]).includes(method)) {
    throw new UsageError(`--method must be one of ${HTTP_METHODS.join(', ')} (got ${values.method})`);
  }
  if (values['reply-timeout'] !== undefined) durationFlag(values['reply-timeout'], 'reply-timeout');
  const timeoutMs = durationFlag(values.timeout, 'timeout');
  const orderingDeadLetter = values['ordering-dead-letter'];
  if (orderingDeadLetter !== undefined) {
    if (values['ordering-key'] === undefined) throw new UsageError('--ordering-dead-letter needs --ordering-key');
    if (!(ORDERING_DEAD_LETTER_MODES as readonly string[]).includes(orderingDeadLetter)) {
      throw new UsageError(`--ordering-dead-letter must be skip or block (got ${orderingDeadLetter})`);
    }
  }
  const headers = parseHeaders(values.header ?? []);
  const message: MessageInput = {
    destination: {
      url: values.url,
      method: method as (typeof HTTP_METHODS)[number],
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
    },
    ...(values.data !== undefined ? { body: readData(values.data, io) } : {}),
    ...(values.id !== undefined ? { id: values.id } : {}),
    ...(values['reply-timeout'] !== undefined ? { reply: { timeout: values['reply-timeout'] } } : {}),
    ...(values['ordering-key'] !== undefined ? { orderingKey: values['ordering-key'] } : {}),
    ...(orderingDeadLetter !== undefined ? { orderingDeadLetter: orderingDeadLetter as OrderingDeadLetterMode } : {}),
  };

  const herald = cliClient(apiSettings(io, { apiUrl: values['api-url'], apiKey: values['api-key'] }));
  const sent = await herald.send(message);
  if (!values.wait) {
    printResult(
      io,
      json,
      { id: sent.id, state: sent.state, existing: sent.existing },
      () => `${sent.id} ${sent.state}${sent.existing ? ' (existing: sent before with the same content)' : ''}`,
    );
    return ExitCode.ok;
  }
  return waitForOutcome(herald.message(sent.id), { timeoutMs, json, io });
}

/** `--header 'Name: value'`, repeatable. */
function parseHeaders(lines: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim() : '';
    if (!name) throw new UsageError(`--header must look like 'Name: value' (got ${line})`);
    headers[name] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** `--data` as JSON: inline, `@file.json`, or `@-` for stdin. */
function readData(data: string, io: CliIo): unknown {
  let text = data;
  let source = '--data';
  if (data.startsWith('@')) {
    const path = data.slice(1);
    source = path === '-' ? 'stdin' : path;
    try {
      text = path === '-' ? readFileSync(0, 'utf8') : readFileSync(resolve(io.cwd, path), 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read ${source}: ${(error as Error).message}`);
    }
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${source} is not JSON: ${(error as Error).message}`);
  }
}
