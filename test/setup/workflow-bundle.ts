/** The workflows bundled once per test run, for every test worker (bundling takes seconds of CPU). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleHeraldWorkflows } from '../../src/runtime/workflow-bundle';

/** Bundles src/workflows into test/.tmp/workflow-bundle.js and answers its path. */
export async function bundleWorkflowsForTests(): Promise<string> {
  const tmp = join(__dirname, '..', '.tmp');
  mkdirSync(tmp, { recursive: true });
  const bundle = await bundleHeraldWorkflows({
    log: () => undefined,
    trace: () => undefined,
    debug: () => undefined,
    info: () => undefined,
    warn: console.warn,
    error: console.error,
  });
  const codePath = join(tmp, 'workflow-bundle.js');
  writeFileSync(codePath, bundle.code);
  return codePath;
}
