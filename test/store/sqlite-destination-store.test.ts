/** The SQLite destination store: the contract on a real file, opened twice as by two processes. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteDestinationStore } from '../../src/store/sqlite-destination-store';
import { describeDestinationStore } from './destination-store.contract';

const dir = mkdtempSync(join(tmpdir(), 'herald-destinations-'));
const file = join(dir, 'dead-letters.sqlite');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeDestinationStore('SQLite', {
  open: async () => openSqliteDestinationStore(file),
  openAnother: async () => openSqliteDestinationStore(file),
});
