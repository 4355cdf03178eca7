/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest'] },
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // One real Temporal dev server for the whole run, on a free port; stopped even when tests fail.
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
  testTimeout: 60_000,
  // Two cores: integration files each run a worker and real HTTP servers.
  maxWorkers: 2,
  // The Temporal SDK's native runtime keeps threads alive after every worker and connection is closed.
  forceExit: true,
};
