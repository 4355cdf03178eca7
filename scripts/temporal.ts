/**
 * `npm run temporal -- <args>`: the Temporal CLI, wherever `npm start` found or installed it (PATH,
 * TEMPORAL_CLI_PATH or .tools/), pointed at Herald's Temporal: TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE
 * from Herald's config (and `.env`, as `npm start` reads it), so on the embedded default it reaches the
 * dev server on 127.0.0.1:$TEMPORAL_PORT. The CLI reads both variables itself; its own
 * `--address`/`--namespace` flags still win. Where Herald encrypts payloads (HERALD_ENCRYPTION_KEYS, or
 * the key the embedded default generated), it also decodes through Herald's codec endpoint with an API
 * key (TEMPORAL_CODEC_ENDPOINT, TEMPORAL_CODEC_AUTH, unless the caller set them), so that `workflow
 * query` and `workflow show` print what a message holds instead of ciphertext.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, temporalAddress } from '../src/config/config';
import { findTemporalCli } from '../src/temporal/temporal-cli';

/** The environment the CLI runs with: the caller's, plus where Herald's Temporal is. */
export function temporalCliEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const config = loadConfig(env);
  return {
    ...env,
    TEMPORAL_ADDRESS: temporalAddress(config),
    TEMPORAL_NAMESPACE: config.temporal.namespace,
    ...(env.TEMPORAL_CODEC_ENDPOINT ? {} : codecEnv(config)),
  };
}

/** The codec endpoint and an API key for it, when payloads are encrypted and both are known. */
function codecEnv(config: ReturnType<typeof loadConfig>): NodeJS.ProcessEnv {
  const embedded = !config.temporal.address;
  const fromFile = (name: string) => {
    const path = join(config.dataDir, name);
    return embedded && existsSync(path) ? readFileSync(path, 'utf8').trim() : undefined;
  };
  const encrypted = config.encryption.keyring !== undefined || fromFile('dev-encryption-key') !== undefined;
  const apiKey = config.api.keys[0]?.key ?? fromFile('dev-api-key');
  if (!encrypted || !apiKey || config.api.port === 0) return {};
  return {
    TEMPORAL_CODEC_ENDPOINT: `http://localhost:${config.api.port}/codec`,
    TEMPORAL_CODEC_AUTH: `Bearer ${apiKey}`,
  };
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
