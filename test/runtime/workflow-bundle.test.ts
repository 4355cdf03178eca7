/**
 * The modules the workflow bundle preloads are shared by every workflow of a worker thread, so each
 * must be stateless and must not touch `@temporalio/workflow` (see src/runtime/workflow-bundle.ts).
 * This walks their imports: a preloaded module may import only other preloaded modules, TypeBox, or
 * `@temporalio/common` (loaded by the SDK before any workflow, already shared).
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { PRELOADED_WORKFLOW_MODULES } from '../../src/runtime/workflow-bundle';

const ALLOWED_PACKAGES = ['@sinclair/typebox', '@sinclair/typebox/value', '@temporalio/common'];

/** The value imports of a TypeScript file (`import type` and `export type` pulled nothing in at run time). */
function valueImports(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  const specifiers: string[] = [];
  for (const match of source.matchAll(/^(import|export)\s+(type\s+)?[^;]*?from\s+'([^']+)'/gms)) {
    if (!match[2]) specifiers.push(match[3]!);
  }
  for (const match of source.matchAll(/^import\s+'([^']+)'/gm)) specifiers.push(match[1]!);
  return specifiers;
}

const localModules = PRELOADED_WORKFLOW_MODULES.filter((module) => module.startsWith('/'));

test('the preload list names the contract modules the workflows import, and TypeBox', () => {
  expect(PRELOADED_WORKFLOW_MODULES).toEqual(expect.arrayContaining(['@sinclair/typebox', '@sinclair/typebox/value']));
  expect(localModules.map((module) => module.replace(/^.*\/src\//, 'src/'))).toEqual(
    expect.arrayContaining(['src/contract/message.ts', 'src/contract/message-status.ts', 'src/retry/delivery-plan.ts']),
  );
});

test.each(localModules.map((module) => [module.replace(/^.*\/src\//, 'src/'), module]))(
  '%s imports only preloaded modules, TypeBox or @temporalio/common',
  (_name, file) => {
    const outside = valueImports(file).filter((specifier) => {
      if (ALLOWED_PACKAGES.includes(specifier)) return false;
      if (!specifier.startsWith('.')) return true;
      return !PRELOADED_WORKFLOW_MODULES.includes(require.resolve(resolve(dirname(file), specifier)));
    });
    expect(outside).toEqual([]);
  },
);

test('the import scan sees value imports and skips type-only ones', () => {
  const file = require.resolve('../../src/contract/message');
  const imports = valueImports(file);
  expect(imports).toEqual(expect.arrayContaining(['@sinclair/typebox', './header-rules']));
  expect(imports).not.toContain('./field-error');
});
