#!/usr/bin/env node
// Installs the Python `standardwebhooks` package (pinned) into .tools/python, for the test that checks a
// Herald delivery with a second, independent Standard Webhooks implementation (test/security). Fast when
// present: it only looks for the package. Plain Node with no dependencies (it runs from `npm test` before
// anything else), modelled on scripts/install-prometheus.mjs.
//
//   node scripts/install-python-verifier.mjs
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const VERSION = '1.3.0';
const target = join(import.meta.dirname, '..', '.tools', 'python');
const marker = join(target, `standardwebhooks-${VERSION}.dist-info`);

if (!existsSync(marker)) {
  console.log(`[herald] installing the Python standardwebhooks ${VERSION} into .tools/python (pip)…`);
  const python = process.env.PYTHON ?? 'python3';
  const result = spawnSync(
    python,
    [
      '-m',
      'pip',
      'install',
      '--quiet',
      '--disable-pip-version-check',
      '--no-deps',
      '--target',
      target,
      `standardwebhooks==${VERSION}`,
    ],
    { stdio: 'inherit' },
  );
  if (result.status !== 0) {
    console.error(
      `[herald] could not install standardwebhooks with ${python} -m pip (exit ${result.status ?? result.error?.message})`,
    );
    process.exit(1);
  }
}
