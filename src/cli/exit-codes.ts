/** The CLI's exit codes (documented in `herald --help`) and which error ends in which. */
import { HeraldApiError, HeraldError, HeraldUnreachableError } from '../client/errors';

export const ExitCode = {
  ok: 0,
  /** The message ended badly: dead_lettered, discarded, cancelled, rejected, terminated or timed_out. */
  endedBadly: 1,
  usage: 2,
  /** The API refused the request (4xx). */
  refused: 3,
  /** The API was unreachable, answered 5xx or did not answer in time; or a wait timed out. */
  unreachable: 4,
} as const;

/** A mistake on the command line: exit 2 with the usage hint. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The exit code for an error that ended a command. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError) return ExitCode.usage;
  if (error instanceof HeraldApiError) return error.status < 500 ? ExitCode.refused : ExitCode.unreachable;
  if (error instanceof HeraldUnreachableError) return ExitCode.unreachable;
  if (error instanceof HeraldError) {
    switch (error.name) {
      case 'DeadLetteredError':
      case 'CancelledError':
      case 'RejectedError':
      case 'TerminatedError':
        return ExitCode.endedBadly;
      case 'TimeoutError':
        return ExitCode.unreachable;
    }
  }
  // Unexpected (a bug): Node's own code for an uncaught error.
  return 1;
}

/** What the CLI says on stderr about an error that ended a command. */
export function describeError(error: unknown): string {
  if (error instanceof HeraldApiError) {
    const fields = (error.problem.errors ?? []).map((e) => `\n  ${e.field}: ${e.message}`).join('');
    const kind = error.type.replace(/^urn:herald:problem:/, '');
    const what = error.status < 500 ? 'the API refused the request' : 'the API could not serve the request';
    return `${what}: ${error.message} [${kind}]${fields}`;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}
