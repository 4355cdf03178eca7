/** How the CLI shows a message's status to a person: a summary block, and one progress line per change. */
import type { MessageStatus } from '../client/errors';
import { formatDuration } from '../contract/duration';

type Attempt = MessageStatus['attempts'][number];

/** The attempts of the delivery round under way (a redrive starts a new round). */
function currentRound(status: MessageStatus): Attempt[] {
  const round = Math.max(1, ...status.attempts.map((a) => a.round));
  return status.attempts.filter((a) => a.round === round);
}

function attemptText(attempt: Attempt): string {
  const what = attempt.status !== undefined ? String(attempt.status) : (attempt.cause ?? attempt.outcome);
  return `${what} in ${Math.round(attempt.durationMs)} ms`;
}

/**
 * A one-line description of where the message is: `delivering (attempt 2: http_503, next in 4s)`,
 * `delivered (200 in 12 ms, attempt 1)`, `dead_lettered (permanent_error: …)`.
 */
export function progressLine(status: MessageStatus, now = Date.now()): string {
  const round = currentRound(status);
  const last = round[round.length - 1];
  switch (status.state) {
    case 'delivering': {
      if (!last) return 'delivering (attempt 1)';
      const cause = last.cause ?? (last.status !== undefined ? `http_${last.status}` : last.outcome);
      const next = status.nextAttemptAt
        ? `, next in ${formatDuration(Math.max(0, Date.parse(status.nextAttemptAt) - now))}`
        : '';
      return `delivering (attempt ${last.attempt}: ${cause}${next})`;
    }
    case 'paused': {
      const hold = status.hold;
      if (!hold) return 'paused';
      const next = formatDuration(Math.max(0, Date.parse(hold.checksAgainAt) - now));
      return `paused (${hold.reason.replace(/_/g, ' ')} since ${hold.since}, checks again in ${next})`;
    }
    case 'awaiting_reply':
      return last ? `awaiting_reply (delivered: ${attemptText(last)})` : 'awaiting_reply';
    case 'delivered':
      return last ? `delivered (${attemptText(last)}, attempt ${last.attempt})` : 'delivered';
    case 'replied':
      return `replied${status.reply?.status !== undefined ? ` (${status.reply.status})` : ''}`;
    case 'dead_lettered':
      return `dead_lettered (${status.deadLetter?.reason ?? 'unknown'}${status.lastError ? `: ${status.lastError.message}` : ''})`;
    case 'cancelled':
      return `cancelled${status.cancellation ? ` (${status.cancellation.reason})` : ''}`;
    case 'rejected':
      return `rejected${status.rejection ? ` (${status.rejection.reason})` : ''}`;
    case 'discarded':
      return `discarded (dead letter${status.deadLetter ? `: ${status.deadLetter.reason}` : ''}, not delivered)`;
    case 'terminated':
      return 'terminated (its workflow was terminated in Temporal before the message ended)';
    case 'timed_out':
      return 'timed_out (its workflow ran past its execution timeout before the message ended)';
    default:
      return status.state;
  }
}

/** What makes two statuses the same step for progress (the countdown to the next attempt does not). */
export function progressKey(status: MessageStatus): string {
  return `${status.state}:${status.attempts.length}:${status.redrives}`;
}

/** The status as an aligned block of `label  value` lines. */
export function statusBlock(status: MessageStatus): string {
  const rows: [string, string][] = [
    ['id', status.id],
    ['state', status.state],
    ['destination', status.destination || '-'],
  ];
  const last = status.attempts[status.attempts.length - 1];
  rows.push(['attempts', last ? `${status.attempts.length} (last: ${last.outcome}, ${attemptText(last)})` : '0']);
  if (status.nextAttemptAt) rows.push(['next attempt', status.nextAttemptAt]);
  if (status.lastError) rows.push(['last error', `${status.lastError.type}: ${status.lastError.message}`]);
  if (status.reply) {
    rows.push([
      'reply',
      `${JSON.stringify(status.reply.body)}${status.reply.status ? ` (${status.reply.status})` : ''}`,
    ]);
  }
  if (status.deadLetter) {
    const { reason, at, retainedUntil, discardedAt } = status.deadLetter;
    const until = discardedAt ? `discarded at ${discardedAt}` : `redrivable until ${retainedUntil}`;
    rows.push(['dead letter', `${reason} at ${at} (${until})`]);
  }
  if (status.cancellation) rows.push(['cancelled', `${status.cancellation.reason} at ${status.cancellation.at}`]);
  if (status.rejection) {
    const fields = status.rejection.errors.map((e) => `${e.field} ${e.message}`).join('; ');
    rows.push(['rejected', `${status.rejection.reason}${fields ? `: ${fields}` : ''}`]);
  }
  if (status.redrives > 0) rows.push(['redrives', String(status.redrives)]);
  rows.push(['created', status.createdAt], ['updated', status.updatedAt]);
  if (status.note) rows.push(['note', status.note]);
  return table(rows);
}

/** Columns padded to their widest cell; the last column is not padded. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
