#!/usr/bin/env node
// Installs npm packages when node_modules is missing or older than package-lock.json.
// Plain Node with no dependencies, because it runs before anything is installed
// (it is the first step of `npm start` and `npm test` on a fresh clone).
import { execSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const lockFile = join(root, 'package-lock.json');
const marker = join(root, 'node_modules', '.herald-lock-hash');

const lockHash = createHash('sha256').update(readFileSync(lockFile)).digest('hex');
const installedHash = existsSync(marker) ? readFileSync(marker, 'utf8').trim() : '';

if (installedHash === lockHash) {
  process.exit(0);
}
// A node_modules that is a symlink (a git worktree sharing another checkout's packages) belongs to that
// checkout: `npm ci` would empty it through the link for everyone using it. Leave it alone and say so.
if (existsSync(join(root, 'node_modules')) && lstatSync(join(root, 'node_modules')).isSymbolicLink()) {
  console.warn('[herald] node_modules is a symlink: not reinstalling it (run `npm ci` where it lives if it is stale)');
  process.exit(0);
}
console.log('[herald] installing npm packages (npm ci)…');
execSync('npm ci --no-audit --no-fund', { cwd: root, stdio: 'inherit' });
writeFileSync(marker, lockHash);
