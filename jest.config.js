/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.(ts|js)$': ['@swc/jest'] },
  // ESM-only packages (required by @fastify/swagger-ui): Node 20 loads them with require(esm), jest's
  // module loader does not, so they are compiled to CommonJS for tests only.
  transformIgnorePatterns: ['/node_modules/(?!(content-disposition)/)'],
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // test/fleet/ runs under `npm run test:fleet` (jest.fleet.config.js), on a Temporal server it may build.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/fleet/'],
  // One real Temporal dev server for the whole run, on a free port; stopped even when tests fail.
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
  // Whatever a test file's fixtures started is closed after its last test, even when tests fail.
  setupFilesAfterEnv: ['<rootDir>/test/setup/close-fixtures.ts'],
  reporters: ['default', '<rootDir>/test/setup/summary-reporter.js'],
  testTimeout: 60_000,
  // Two cores: integration files each run a worker and real HTTP servers.
  maxWorkers: 2,
  // The Temporal SDK's native runtime keeps threads alive after every worker and connection is closed.
  forceExit: true,
};
