/**
 * The `herald` command (bin/herald.js runs this): dispatches to one module per command and turns
 * what happened into an exit code (see USAGE).
 */
import { deadLetterCommand } from './commands/dead-letters';
import { destinationsCommand, retriesCommand } from './commands/destinations';
import { sendCommand } from './commands/send';
import { statusCommand } from './commands/status';
import { tailCommand } from './commands/tail';
import { waitCommand } from './commands/wait';
import { describeError, ExitCode, exitCodeFor, UsageError } from './exit-codes';
import { note, processIo, type CliIo } from './io';
import { USAGE } from './usage';

type Command = (args: string[], io: CliIo) => Promise<number | 'help'>;

const COMMANDS: Record<string, Command> = {
  send: sendCommand,
  status: statusCommand,
  wait: waitCommand,
  dlq: deadLetterCommand,
  tail: tailCommand,
  destinations: destinationsCommand,
  retries: retriesCommand,
};

/** Runs one command line; resolves with the exit code (never rejects). */
export async function run(argv: string[] = process.argv.slice(2), io: CliIo = processIo()): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined) {
    io.stderr.write(USAGE);
    return ExitCode.usage;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(USAGE);
    return ExitCode.ok;
  }
  try {
    const command = COMMANDS[name];
    if (!command) throw new UsageError(`unknown command: ${name}`);
    const code = await command(args, io);
    if (code === 'help') {
      io.stdout.write(USAGE);
      return ExitCode.ok;
    }
    return code;
  } catch (error) {
    note(io, `herald: ${describeError(error)}`);
    if (error instanceof UsageError) note(io, 'Run `herald --help` for usage.');
    return exitCodeFor(error);
  }
}

/** Runs the command line of this process and sets its exit code. */
export function main(): void {
  void run().then((code) => {
    process.exitCode = code;
  });
}

if (require.main === module) main();
