/** `herald status ID`: a message's status, as a block of lines or the API's JSON document. */
import { ExitCode } from '../exit-codes';
import { printResult, type CliIo } from '../io';
import { apiSettings, cliClient, expectPositionals, parseCommand } from '../options';
import { statusBlock } from '../status-text';

const OPTIONS = { url: { type: 'string' } } as const;

export async function statusCommand(args: string[], io: CliIo): Promise<number | 'help'> {
  const { values, positionals, json, help } = parseCommand(args, OPTIONS);
  if (help) return 'help';
  const [id] = expectPositionals(positionals, 1, 'the message id (herald status ID)');
  const herald = cliClient(apiSettings(io, { apiUrl: values['api-url'] ?? values.url, apiKey: values['api-key'] }));
  const status = await herald.message(id!).status();
  printResult(io, json, status, () => statusBlock(status));
  return ExitCode.ok;
}
