// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';
import globals from 'globals';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((name) => `node:${name}`)];

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.tools/', '.data/', 'coverage/', 'test/.tmp/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { languageOptions: { globals: { ...globals.node } } },
  {
    // Plain CommonJS config files that jest loads directly (jest.config.js, the summary reporter).
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The operator console runs in the browser (console/, bundled by esbuild).
    files: ['console/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // The dashboard picture's page script: a plain script in Chromium, after uPlot's (scripts/dashboard-picture/).
    files: ['scripts/dashboard-picture/page/*.js'],
    languageOptions: { sourceType: 'script', globals: { ...globals.browser, uPlot: 'readonly' } },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  {
    // Temporal's packages are used through their public entry points only: `lib/` paths are internals.
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ImportDeclaration[source.value=/^@temporalio\\u002F[a-z-]+\\u002Flib\\u002F/]',
          message: 'Import from the package (e.g. @temporalio/common), not its lib/ internals.',
        },
      ],
    },
  },
  {
    // The API talks to Temporal through src/temporal/ only (src/api-server.ts, the process entry, connects).
    files: ['src/api/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@temporalio/*'],
              allowTypeImports: true,
              message: 'Call Temporal through src/temporal/ (app.temporal), not the SDK.',
            },
          ],
        },
      ],
    },
  },
  {
    // Workflow code must be deterministic: it runs in Temporal's sandbox and is replayed from history.
    // Node built-ins and activity implementations are off limits (activities are imported as types only).
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({
            name,
            message: 'Workflows must not use Node built-ins (not deterministic).',
          })),
          patterns: [
            {
              group: ['**/activities', '**/activities/**'],
              allowTypeImports: true,
              message: 'Workflows import activities only as types (import type) and call them through proxyActivities.',
            },
            {
              group: [
                'undici',
                'pino',
                'better-sqlite3',
                '@temporalio/client',
                '@temporalio/worker',
                '@temporalio/activity',
                '**/store/**',
                '**/config/**',
                '**/observability/**',
                '**/destinations/**',
                '**/temporal/**',
                '**/api/**',
              ],
              message: 'Not allowed in workflow code: it does I/O or is not deterministic.',
            },
          ],
        },
      ],
    },
  },
  {
    // The contract is shared by the workflows (sandbox), the API and the HTTP client: it must load
    // nothing that needs Node, does I/O, or drags in the Temporal client or worker.
    files: ['src/contract/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'The contract must be safe in the workflow sandbox.' })),
          patterns: [
            {
              group: [
                'undici',
                'pino',
                'better-sqlite3',
                'pg',
                '@temporalio/client',
                '@temporalio/worker',
                '@temporalio/activity',
              ],
              message: 'The contract holds shapes and names only.',
            },
            {
              group: ['../*', '!../contract'],
              message: 'The contract depends on nothing else in Herald.',
            },
          ],
        },
      ],
    },
  },
  {
    // The published HTTP client must not load the Temporal SDK (test/client/client-package.test.ts checks the build).
    files: ['src/client.ts', 'src/client/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@temporalio/*'], message: 'The HTTP client must not load the Temporal SDK.' },
            {
              group: [
                '**/temporal/**',
                '**/workflows/**',
                '**/activities/**',
                '**/contract/definitions',
                '**/contract/search-attributes',
              ],
              allowTypeImports: true,
              message: 'The HTTP client talks HTTP only; these load the Temporal SDK.',
            },
          ],
        },
      ],
    },
  },
  {
    // The message's rules and its side-effect queue are plain code, unit-tested without Temporal.
    files: ['src/workflows/message-run.ts', 'src/workflows/side-effects.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          // Replaces the workflow fence for these files, so it repeats the Node built-ins.
          paths: nodeBuiltins.map((name) => ({ name, message: 'Workflows must not use Node built-ins.' })),
          patterns: [
            { group: ['@temporalio/*'], message: 'Pure workflow logic: no Temporal calls here.' },
            {
              group: ['**/activities', '**/activities/**'],
              allowTypeImports: true,
              message: 'Activities as types only.',
            },
          ],
        },
      ],
    },
  },
);
