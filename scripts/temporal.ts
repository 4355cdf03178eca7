/**
 * `npm run temporal -- <args>`: the Temporal CLI, wherever `npm start` found or installed it (PATH,
 * TEMPORAL_CLI_PATH or .tools/), pointed at Herald's Temporal: TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE
 * from Herald's config (and `.env`, as `npm start` reads it), so on the embedded default it reaches the
 * dev server on 127.0.0.1:$TEMPORAL_PORT. The CLI reads both variables itself; its own
 * `--address`/`--namespace` flags still win.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadConfig, temporalAddress } from '../src/config/config';
import { findTemporalCli } from '../src/temporal/temporal-cli';

/** The environment the CLI runs with: the caller's, plus where Herald's Temporal is. */
export function temporalCliEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const config = loadConfig(env);
  return { ...env, TEMPORAL_ADDRESS: temporalAddress(config), TEMPORAL_NAMESPACE: config.temporal.namespace };
}

if (require.main === module) {
  if (existsSync('.env')) process.loadEnvFile('.env');
  let cliPath: string;
  let env: NodeJS.ProcessEnv;
  try {
    env = temporalCliEnv(process.env);
    // Install progress goes to stderr; the "which CLI" line would precede every command's output.
    cliPath = findTemporalCli({
      log: (line) => (line.startsWith('[herald] Temporal CLI:') ? undefined : console.error(line)),
    }).path;
  } catch (error) {
    console.error(`[herald] ${(error as Error).message}`);
    process.exit(1);
  }
  const run = spawnSync(cliPath, process.argv.slice(2), { stdio: 'inherit', env });
  if (run.error) {
    console.error(`[herald] could not run ${cliPath}: ${run.error.message}`);
    process.exit(1);
  }
  process.exit(run.status ?? 1);
}
