/**
 * Records workflow histories for the replay test. With RECORD_HISTORIES=1 (`npm run replay:record`)
 * each integration test saves the history of its workflow under test/replay/histories/; the replay
 * test then runs those committed histories against the current workflow code.
 */
import type { Client } from '@temporalio/client';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const HISTORIES_DIR = join(__dirname, '..', 'replay', 'histories');

export async function recordHistory(client: Client, workflowId: string, name: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  mkdirSync(HISTORIES_DIR, { recursive: true });
  writeFileSync(join(HISTORIES_DIR, `${name}.json`), JSON.stringify(history));
}
