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
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
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
                '**/shared/config',
                '**/shared/logger',
              ],
              message: 'Not allowed in workflow code: it does I/O or is not deterministic.',
            },
          ],
        },
      ],
    },
  },
);
