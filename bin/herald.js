#!/usr/bin/env node
// The `herald` command. In a checkout (sources present) it runs the TypeScript sources through tsx, so
// a stale `dist/` from an earlier build can never shadow them; an installed package (no src/) runs the
// compiled CLI.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const source = join(__dirname, '..', 'src', 'cli', 'main.ts');
if (existsSync(source)) {
  require('tsx/cjs');
  require(source).main();
} else {
  require(join(__dirname, '..', 'dist', 'cli', 'main.js')).main();
}
