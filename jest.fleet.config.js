/**
 * `npm run test:fleet`: the suites under test/fleet/, on Temporal on PostgreSQL built here (or, with
 * HERALD_FLEET_TEMPORAL=dev, on the dev server). Separate from `npm test`, which never builds Go.
 * @type {import('jest').Config}
 */
const base = require('./jest.config.js');

module.exports = {
  ...base,
  // test/multi-host/ also runs under `npm test`, on the dev server.
  testMatch: ['<rootDir>/test/fleet/**/*.test.ts', '<rootDir>/test/multi-host/**/*.test.ts'],
  // test/fleet/server/ tests the server scripts themselves: not on the dev server, which builds nothing.
  testPathIgnorePatterns: [
    '/node_modules/',
    ...(process.env.HERALD_FLEET_TEMPORAL === 'dev' ? ['<rootDir>/test/fleet/server/'] : []),
  ],
  globalSetup: '<rootDir>/test/setup/fleet-global-setup.ts',
  // Processes of their own (workers bundle their workflows at start): one file at a time on two cores.
  maxWorkers: 1,
  testTimeout: 180_000,
};
