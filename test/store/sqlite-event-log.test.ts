/** The SQLite event log: the contract on a real file (in a directory it creates). */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
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
