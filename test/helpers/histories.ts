/**
 * Records workflow histories for the replay test. With RECORD_HISTORIES=1 (`npm run replay:record`)
 * each integration test saves the history of its workflow under test/replay/histories/herald-message/
 * (the newest generation's directory; the others keep histories of runs from before it, which must still
 * replay, and are never re-recorded); the replay test then runs every committed history against the
 * current workflow code.
 */
import type { Client } from '@temporalio/client';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findTemporalCli } from '../../src/temporal/temporal-cli';

export const HISTORIES_DIR = join(__dirname, '..', 'replay', 'histories');
/** Where new recordings go: runs of the `heraldMessage` type (the lean run, see workflows/deliver-message.ts). */
export const RECORDING_DIR = join(HISTORIES_DIR, 'herald-message');

/** Records the history of `workflowId`'s latest run, or of `runId` (a run that continued as new). */
export async function recordHistory(client: Client, workflowId: string, name: string, runId?: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  // `temporal workflow show --output json` writes the standard history JSON (as the Web UI downloads it).
  const cli = findTemporalCli({ install: false, log: () => undefined });
  const json = execFileSync(
    cli.path,
    [
      'workflow',
      'show',
      '--workflow-id',
      workflowId,
      ...(runId ? ['--run-id', runId] : []),
      '--output',
      'json',
      '--address',
      process.env.HERALD_TEST_TEMPORAL_ADDRESS!,
    ],
    { encoding: 'utf8', env: { ...process.env, TEMPORAL_NAMESPACE: client.options.namespace } },
  );
  mkdirSync(RECORDING_DIR, { recursive: true });
  writeFileSync(join(RECORDING_DIR, `${name}.json`), json);
}
