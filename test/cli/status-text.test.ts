/** How the CLI words the states a message ends in without an outcome: discarded, terminated, timed_out. */
import type { MessageStatus } from '../../src/client';
import { progressLine, statusBlock } from '../../src/cli/status-text';

const base = {
  id: 'msg_1',
  destination: 'api.example.com',
  attempts: [],
  lastError: null,
  nextAttemptAt: null,
  reply: null,
  deadLetter: null,
  rejection: null,
  cancellation: null,
  redrives: 0,
  ignored: [],
  createdAt: '2026-11-24T16:59:58.000Z',
  updatedAt: '2026-11-24T17:00:00.000Z',
  source: 'workflow',
} satisfies Omit<MessageStatus, 'state'>;

const deadLetter = {
  reason: 'permanent_error' as const,
  at: '2026-11-24T16:59:59.000Z',
  round: 1,
  retainedUntil: '2026-12-01T16:59:59.000Z',
};

test('a discarded dead letter says so, with why it was dead-lettered, and is no longer redrivable', () => {
  const status: MessageStatus = {
    ...base,
    state: 'discarded',
    deadLetter: { ...deadLetter, discardedAt: '2026-11-24T17:00:00.000Z' },
  };
  expect(progressLine(status)).toBe('discarded (dead letter: permanent_error, not delivered)');
  const block = statusBlock(status);
  expect(block).toMatch(/^state\s+discarded$/m);
  expect(block).toMatch(
    /^dead letter\s+permanent_error at 2026-11-24T16:59:59.000Z \(discarded at 2026-11-24T17:00:00.000Z\)$/m,
  );
  expect(block).not.toMatch(/redrivable/);
  // A parked one still is.
  expect(statusBlock({ ...base, state: 'dead_lettered', deadLetter })).toMatch(/redrivable until 2026-12-01/);
});

test('terminated and timed_out name Temporal as what ended the message', () => {
  expect(progressLine({ ...base, state: 'terminated' })).toBe(
    'terminated (its workflow was terminated in Temporal before the message ended)',
  );
  expect(progressLine({ ...base, state: 'timed_out' })).toBe(
    'timed_out (its workflow ran past its execution timeout before the message ended)',
  );
  expect(statusBlock({ ...base, state: 'timed_out' })).toMatch(/^state\s+timed_out$/m);
});
