/** `herald wait ID`: follow a message to its end, one stderr line per state change (polling at the API's Retry-After). */
import { CancelledError, DeadLetteredError, RejectedError, TerminatedError, type MessageHandle } from '../../client';
import { ExitCode } from '../exit-codes';
import { note, printResult, type CliIo } from '../io';
import { apiSettings, cliClient, durationFlag, expectPositionals, parseCommand } from '../options';
import { progressKey, progressLine, statusBlock } from '../status-text';

const OPTIONS = {
  url: { type: 'string' },
  timeout: { type: 'string', default: '5m' },
} as const;

export async function waitCommand(args: string[], io: CliIo): Promise<number | 'help'> {
  const { values, positionals, json, help } = parseCommand(args, OPTIONS);
  if (help) return 'help';
  const [id] = expectPositionals(positionals, 1, 'the message id (herald wait ID)');
  const timeoutMs = durationFlag(values.timeout, 'timeout');
  const herald = cliClient(apiSettings(io, { apiUrl: values['api-url'] ?? values.url, apiKey: values['api-key'] }));
  return waitForOutcome(herald.message(id!), { timeoutMs, json, io });
}

/**
 * Waits for the message's outcome, printing each change on stderr and the final status on stdout.
 * 0 when it was delivered or replied to, 1 when it ended badly; other failures are thrown.
 */
export async function waitForOutcome(
  message: MessageHandle,
  options: { timeoutMs: number; json: boolean; io: CliIo },
): Promise<number> {
  const { io, json } = options;
  let lastKey = '';
  try {
    const outcome = await message.result({
      timeout: options.timeoutMs,
      onStatus: (status) => {
        const key = progressKey(status);
        if (key === lastKey) return;
        lastKey = key;
        note(io, progressLine(status));
      },
    });
    printResult(io, json, outcome.status, () => statusBlock(outcome.status));
    return ExitCode.ok;
  } catch (error) {
    if (
      error instanceof DeadLetteredError ||
      error instanceof CancelledError ||
      error instanceof RejectedError ||
      error instanceof TerminatedError
    ) {
      printResult(io, json, error.status, () => statusBlock(error.status));
      note(io, `herald: ${error.message}`);
      return ExitCode.endedBadly;
    }
    throw error;
  }
}
