/**
 * scripts/install-deps.mjs never reinstalls a node_modules that is a symlink: in a git worktree that
 * shares another checkout's packages, `npm ci` would empty them for every checkout using them.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('a symlinked node_modules with a stale marker is left as it is', () => {
  const root = mkdtempSync(join(tmpdir(), 'herald-install-'));
  mkdirSync(join(root, 'scripts'));
  copyFileSync(join(__dirname, '..', '..', 'scripts', 'install-deps.mjs'), join(root, 'scripts', 'install-deps.mjs'));
  writeFileSync(join(root, 'package-lock.json'), '{"lockfileVersion":3}');
  const shared = join(root, 'shared-node_modules');
  mkdirSync(join(shared, 'some-package'), { recursive: true });
  writeFileSync(join(shared, '.herald-lock-hash'), 'a hash of another lock file');
  symlinkSync(shared, join(root, 'node_modules'));

  const output = execFileSync(process.execPath, [join(root, 'scripts', 'install-deps.mjs')], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  expect(output).not.toContain('npm ci');
  expect(existsSync(join(shared, 'some-package'))).toBe(true);
});
