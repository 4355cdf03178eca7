#!/usr/bin/env node
// Runs a command and stops it when the process that started this one is gone, even if that process
// was killed with SIGKILL and could not stop it (a test run killed hard, a terminal closed). SIGTERM and
// SIGINT are passed on; this exits with the command's code once the command has exited.
//
//   node scripts/run-while-parent-lives.mjs <command> [args…]
//
// Plain Node with no dependencies: it wraps programs that know nothing about Herald (the Temporal
// server built by scripts/temporal-server/build.sh), as scripts/postgres.mjs does for PostgreSQL.
import { spawn } from 'node:child_process';

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error('usage: run-while-parent-lives.mjs <command> [args…]');
  process.exit(2);
}
const child = spawn(command, args, { stdio: 'inherit' });
child.on('error', (error) => {
  console.error(`[run-while-parent-lives] could not start ${command}: ${error.message}`);
  process.exit(127);
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => child.kill(signal));

const parent = process.ppid;
setInterval(() => {
  try {
    process.kill(parent, 0);
  } catch {
    // The parent cannot wait for a graceful stop any more: stop now, hard after 10 s.
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  }
}, 1000).unref();
