#!/usr/bin/env node
// Installs npm packages when node_modules is missing or older than package-lock.json.
// Plain Node with no dependencies, because it runs before anything is installed
// (it is the first step of `npm start` and `npm test` on a fresh clone).
import { execSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const lockFile = join(root, 'package-lock.json');
const marker = join(root, 'node_modules', '.herald-lock-hash');

const lockHash = createHash('sha256').update(readFileSync(lockFile)).digest('hex');
const installedHash = existsSync(marker) ? readFileSync(marker, 'utf8').trim() : '';

if (installedHash === lockHash) {
  process.exit(0);
}
console.log('[herald] installing npm packages (npm ci)…');
execSync('npm ci --no-audit --no-fund', { cwd: root, stdio: 'inherit' });
writeFileSync(marker, lockHash);
