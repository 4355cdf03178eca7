/** The SQLite ordering sequencer: the contract on one file shared by several stores (processes on one host). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteOrderingStore } from '../../src/store/sqlite-ordering-store';
import { describeOrderingStore } from './ordering-store.contract';

const dir = mkdtempSync(join(tmpdir(), 'herald-ordering-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const path = join(dir, 'dead-letters.sqlite');
describeOrderingStore('SQLite', { open: async (options) => openSqliteOrderingStore(path, options) });
