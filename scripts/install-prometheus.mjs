#!/usr/bin/env node
// Installs Prometheus and Alertmanager's tools (promtool, prometheus, amtool) from Debian's packages when they
// are missing, for the tests of deploy/prometheus and deploy/alertmanager. Fast when present: it only looks for
// the three binaries. Plain Node with no dependencies (it runs from `npm test` before anything else).
//
//   node scripts/install-prometheus.mjs
//
// Debian's packages would start `prometheus` and `prometheus-alertmanager` services from their postinst. The tests
// start their own Prometheus on a free port, so the install runs under a policy-rc.d that refuses every service
// start (the one Docker images ship does the same); it is put in place only when the machine has none, and removed.
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, rmSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { userInfo } from 'node:os';

const TOOLS = [
  { name: 'promtool', pkg: 'prometheus' },
  { name: 'prometheus', pkg: 'prometheus' },
  { name: 'amtool', pkg: 'prometheus-alertmanager' },
];
const POLICY = '/usr/sbin/policy-rc.d';

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The tool's path: on PATH, or in /usr/bin where Debian puts it (a PATH without /usr/bin still finds it). */
function locate(name) {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/bin'];
  return dirs.map((dir) => join(dir, name)).find(isExecutable);
}

const missing = TOOLS.filter((tool) => !locate(tool.name));
if (missing.length === 0) process.exit(0);

const packages = [...new Set(missing.map((tool) => tool.pkg))];
const asRoot = userInfo().uid === 0;
const sudo = asRoot ? [] : ['sudo', '-n'];
if (!existsSync('/usr/bin/apt-get') || (!asRoot && spawnSync('sudo', ['-n', 'true']).status !== 0)) {
  console.error(
    [
      `[herald] missing ${missing.map((tool) => tool.name).join(', ')}, and this machine cannot install them here`,
      '(apt-get as root or with password-less sudo). Install them with:',
      `  sudo apt-get install -y --no-install-recommends ${packages.join(' ')}`,
      'or put promtool, prometheus (2.x) and amtool (Alertmanager 0.25+) on PATH.',
    ].join('\n'),
  );
  process.exit(1);
}

/** Runs `argv`, through `sudo -n` when not root. */
function run(prefix, argv) {
  const [command, ...args] = [...prefix, ...argv];
  execFileSync(command, args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}
const apt = (args) => run(sudo, ['apt-get', ...args]);

console.log(`[herald] installing ${packages.join(', ')} (apt-get; for promtool and the alert tests)…`);
const ownPolicy = !existsSync(POLICY);
if (ownPolicy) {
  run(sudo, ['sh', '-c', `printf '#!/bin/sh\\nexit 101\\n' > ${POLICY} && chmod 755 ${POLICY}`]);
}
try {
  const install = ['install', '-y', '--no-install-recommends', ...packages];
  try {
    apt(['-qq', ...install]);
  } catch {
    // A fresh machine (or image) may have no package lists yet.
    apt(['-qq', 'update']);
    apt(['-qq', ...install]);
  }
} finally {
  if (ownPolicy) {
    if (asRoot) rmSync(POLICY, { force: true });
    else run(sudo, ['rm', '-f', POLICY]);
  }
}
const still = TOOLS.filter((tool) => !locate(tool.name));
if (still.length > 0) {
  console.error(`[herald] apt-get finished but ${still.map((tool) => tool.name).join(', ')} still missing`);
  process.exit(1);
}
// Reached only after an install: say which versions the tests will use.
const version = spawnSync(locate('prometheus'), ['--version'], { encoding: 'utf8' });
console.log(`[herald] ${(version.stdout || version.stderr).split('\n')[0]}`);
