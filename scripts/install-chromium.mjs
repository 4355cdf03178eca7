#!/usr/bin/env node
// Installs Debian's `chromium` when it is missing, for `npm run dashboard:picture` and the dashboard-picture test
// (puppeteer-core drives it; puppeteer's own browser download cannot reach the internet from here). Fast when
// present: it only looks for the binary. Plain Node with no dependencies (it runs from `npm test` before
// anything else), modelled on scripts/install-prometheus.mjs.
//
//   node scripts/install-chromium.mjs
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { userInfo } from 'node:os';

const NAME = 'chromium';
const PACKAGE = 'chromium';

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Chromium's path: on PATH, or in /usr/bin where Debian puts it (a PATH without /usr/bin still finds it). */
function locate() {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/bin'];
  return dirs.map((dir) => join(dir, NAME)).find(isExecutable);
}

if (locate()) process.exit(0);

const asRoot = userInfo().uid === 0;
const sudo = asRoot ? [] : ['sudo', '-n'];
if (!existsSync('/usr/bin/apt-get') || (!asRoot && spawnSync('sudo', ['-n', 'true']).status !== 0)) {
  console.error(
    [
      `[herald] missing ${NAME}, and this machine cannot install it here (apt-get as root or with password-less sudo).`,
      'Install it with:',
      `  sudo apt-get install -y --no-install-recommends ${PACKAGE}`,
      'or put a Chromium (or Chrome) binary named chromium on PATH.',
    ].join('\n'),
  );
  process.exit(1);
}

/** Runs apt-get, through `sudo -n` when not root. */
function apt(args) {
  const [command, ...rest] = [...sudo, 'apt-get', ...args];
  execFileSync(command, rest, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

console.log(`[herald] installing ${PACKAGE} (apt-get; for the dashboard picture)…`);
// Chromium starts no service, so unlike install-prometheus.mjs no policy-rc.d is needed.
const install = ['install', '-y', '--no-install-recommends', PACKAGE];
try {
  try {
    apt(['-qq', ...install]);
  } catch {
    // A fresh machine (or image) may have no package lists yet.
    apt(['-qq', 'update']);
    apt(['-qq', ...install]);
  }
} catch (error) {
  console.error(`[herald] apt-get could not install ${PACKAGE}: ${error.message}`);
  process.exit(1);
}
const found = locate();
if (!found) {
  console.error(`[herald] apt-get finished but ${NAME} is still missing from PATH and /usr/bin`);
  process.exit(1);
}
// Reached only after an install: say which version the picture will use.
const version = spawnSync(found, ['--version'], { encoding: 'utf8' });
console.log(`[herald] ${(version.stdout || version.stderr).split('\n')[0]}`);
// Its first start on a fresh machine is slow (profile, font and shader caches); pay it here, before the test
// suite loads both cores, rather than in the dashboard-picture test's launch.
const warm = spawnSync(found, ['--headless', '--no-sandbox', '--disable-gpu', '--dump-dom', 'about:blank'], {
  encoding: 'utf8',
  timeout: 120_000,
});
if (warm.status !== 0)
  console.warn(
    `[herald] chromium's first start did not finish cleanly: ${warm.error?.message ?? warm.stderr.split('\n')[0]}`,
  );
