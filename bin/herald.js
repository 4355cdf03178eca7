#!/usr/bin/env node
// The `herald` command: the compiled CLI when `npm run build` has made one, otherwise the TypeScript
// sources through tsx (a checkout without a build).
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const built = join(__dirname, '..', 'dist', 'cli', 'main.js');
if (existsSync(built)) {
  require(built).main();
} else {
  require('tsx/cjs');
  require('../src/cli/main.ts').main();
}
