/** The SQLite event log: the contract on a real file (in a directory it creates), and its in-process watch hint. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteEventLog } from '../../src/store/sqlite-event-log';
import { describeEventLog } from './event-log.contract';

let dir: string | undefined;
let path: string;

describeEventLog('SQLite', {
  open: async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = mkdtempSync(join(tmpdir(), 'herald-event-log-'));
    path = join(dir, 'nested', 'events.sqlite');
    return openSqliteEventLog(path);
  },
  openAnother: async () => openSqliteEventLog(path),
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the file is created with its missing directories', async () => {
  dir = mkdtempSync(join(tmpdir(), 'herald-event-log-'));
  const log = openSqliteEventLog(join(dir, 'a', 'b', 'events.sqlite'));
  try {
    expect(existsSync(join(dir, 'a', 'b', 'events.sqlite'))).toBe(true);
  } finally {
    await log.close();
  }
});

test('watch: a hint soon after appends through this connection (one per tick), none after unsubscribe', async () => {
  dir = mkdtempSync(join(tmpdir(), 'herald-event-log-'));
  const file = join(dir, 'events.sqlite');
  const log = openSqliteEventLog(file);
  const event = (seq: number, state: string, messageId = 'msg-1', runId = 'run-1') => ({
    messageId,
    runId,
    seq,
    state,
    destination: 'api.example.com',
    sender: 'ci',
    at: `2030-01-01T00:00:0${seq}.000Z`,
  });
  try {
    let hints = 0;
    const unsubscribe = log.watch(() => (hints += 1));
    await log.append(event(1, 'accepted'));
    await log.append(event(2, 'delivering'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(hints).toBe(1);
    await log.append(event(3, 'delivered'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(hints).toBe(2);
    // Another connection's appends (another process's, in production) give this one no hint: readers poll.
    const second = openSqliteEventLog(file);
    try {
      await second.append(event(1, 'accepted', 'msg-2'));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(hints).toBe(2);
    } finally {
      await second.close();
    }
    unsubscribe();
    await log.append(event(4, 'delivered', 'msg-1', 'run-2'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(hints).toBe(2);
  } finally {
    await log.close();
  }
});

test('appends survive a writer killed with SIGKILL before it closes the file (synchronous=NORMAL loses no commit to a process crash)', async () => {
  dir = mkdtempSync(join(tmpdir(), 'herald-event-log-'));
  const file = join(dir, 'events.sqlite');
  const writer = join(dir, 'writer.ts');
  writeFileSync(
    writer,
    `import { openSqliteEventLog } from ${JSON.stringify(join(__dirname, '../../src/store/sqlite-event-log'))};
const log = openSqliteEventLog(${JSON.stringify(file)});
for (let seq = 1; seq <= 50; seq++) {
  void log.append({ messageId: 'msg-k', runId: 'run-k', seq, state: 'delivering', destination: 'd', sender: null, at: new Date().toISOString() });
}
process.kill(process.pid, 'SIGKILL');
`,
  );
  const result = spawnSync(process.execPath, ['--import', 'tsx', writer], { timeout: 30_000 });
  expect(result.signal).toBe('SIGKILL');
  const log = openSqliteEventLog(file);
  try {
    const events = await log.read({ afterId: 0, messageId: 'msg-k' });
    expect(events.map((event) => event.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  } finally {
    await log.close();
  }
});
