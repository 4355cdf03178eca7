/** What the CLI draws: the progress bar on a terminal, plain lines otherwise, and progress lines of a message. */
import type { MessageStatus } from '../../src/client';
import { ProgressReporter, progressBar, type CliIo } from '../../src/cli/io';
import { progressKey, progressLine } from '../../src/cli/status-text';

function fakeIo(isTTY: boolean): { io: CliIo; stderr: string[] } {
  const stderr: string[] = [];
  const stream = (sink: string[]) => ({
    isTTY,
    write: (chunk: string) => {
      sink.push(chunk);
      return true;
    },
  });
  return {
    io: { stdout: stream([]), stderr: stream(stderr), env: {}, cwd: '/', onInterrupt: () => undefined },
    stderr,
  };
}

test('progressBar fills in proportion', () => {
  expect(progressBar(50, 100, 10)).toBe('[#####-----] 50/100');
  expect(progressBar(0, 3, 10)).toBe('[----------] 0/3');
  expect(progressBar(3, 3, 10)).toBe('[##########] 3/3');
  expect(progressBar(1, 3)).toBe('[#######-------------] 1/3');
});

test('on a terminal the bar is redrawn in place and ends with a newline', () => {
  const { io, stderr } = fakeIo(true);
  const progress = new ProgressReporter(io, 2, 'redriven');
  progress.update(1);
  progress.note('failed msg_x: gone');
  progress.update(2);
  expect(stderr).toEqual([`\r${progressBar(1, 2)}`, '\r\x1b[2Kfailed msg_x: gone\n', `\r${progressBar(2, 2)}`, '\n']);
});

test('elsewhere progress is about twenty plain lines, the last one always', () => {
  const { io, stderr } = fakeIo(false);
  const progress = new ProgressReporter(io, 101, 'redriven');
  for (let done = 1; done <= 101; done++) progress.update(done);
  expect(stderr[0]).toBe('redriven 6/101\n');
  expect(stderr.length).toBeLessThanOrEqual(21);
  expect(stderr[stderr.length - 1]).toBe('redriven 101/101\n');
});

test('progress lines say the attempt, its cause and when the next one is', () => {
  const now = Date.parse('2026-11-24T17:00:00.000Z');
  const attempt = {
    round: 1,
    attempt: 2,
    outcome: 'retryable' as const,
    status: 503,
    cause: 'http_503',
    durationMs: 12,
    nextDelayMs: 4000,
    startedAt: '2026-11-24T16:59:59.000Z',
    finishedAt: '2026-11-24T16:59:59.012Z',
  };
  const status = {
    id: 'msg_1',
    state: 'delivering',
    destination: 'api.example.com',
    attempts: [{ ...attempt, attempt: 1 }, attempt],
    lastError: null,
    nextAttemptAt: '2026-11-24T17:00:04.000Z',
    reply: null,
    deadLetter: null,
    rejection: null,
    cancellation: null,
    redrives: 0,
    ignored: [],
    createdAt: '2026-11-24T16:59:58.000Z',
    updatedAt: '2026-11-24T16:59:59.012Z',
    source: 'workflow',
  } satisfies MessageStatus;
  expect(progressLine(status, now)).toBe('delivering (attempt 2: http_503, next in 4s)');
  expect(progressLine({ ...status, attempts: [] }, now)).toBe('delivering (attempt 1)');
  const delivered = { ...attempt, attempt: 3, outcome: 'delivered' as const, status: 200, cause: undefined };
  expect(progressLine({ ...status, state: 'delivered', attempts: [delivered], nextAttemptAt: null }, now)).toBe(
    'delivered (200 in 12 ms, attempt 3)',
  );
  // The countdown changing is not a new step; another attempt is.
  expect(progressKey({ ...status, nextAttemptAt: null })).toBe(progressKey(status));
  expect(progressKey({ ...status, attempts: [attempt] })).not.toBe(progressKey(status));
});
