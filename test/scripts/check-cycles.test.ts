/**
 * scripts/check-cycles.mjs (`npm run deps:check`) on tiny fixture source trees: it passes an acyclic
 * tree, and fails, printing the loop, on file cycles (type-only imports included) and folder cycles.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const script = join(__dirname, '..', '..', 'scripts', 'check-cycles.mjs');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'herald-cycles-'));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { module: 'node16', moduleResolution: 'node16', strict: true } }),
  );
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Writes files under <dir>/src and runs the check on them. */
function check(files: Record<string, string>): { status: number | null; output: string } {
  for (const [path, text] of Object.entries(files)) {
    const file = join(dir, 'src', path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
  const run = spawnSync(
    process.execPath,
    [script, '--src', join(dir, 'src'), '--tsconfig', join(dir, 'tsconfig.json')],
    {
      cwd: dir,
      encoding: 'utf8',
    },
  );
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

test('an acyclic tree passes, with imports of packages and of files outside src ignored', () => {
  const result = check({
    'contract/message.ts': "import { join } from 'node:path';\nexport const a = join('x');\n",
    'retry/backoff.ts': "import { a } from '../contract/message';\nimport '../../outside';\nexport const b = a;\n",
    'api/app.ts':
      "import { b } from '../retry/backoff';\nimport type { a } from '../contract/message';\nexport const c = b;\n",
    'client.ts': "export * from './client/http';\n",
    'client/http.ts': "import { c } from '../api/app';\nexport const d = c;\n",
  });
  expect(result).toEqual({ status: 0, output: expect.stringContaining('no import cycles in src (5 files)') });
});

test('a file cycle through a type-only import fails and names every step', () => {
  const result = check({
    'api/app.ts':
      "import { route } from './routes/messages';\nexport interface ApiContext { n: number }\nexport const app = route;\n",
    'api/routes/messages.ts':
      "import type { ApiContext } from '../app';\nexport const route = (c: ApiContext) => c.n;\n",
  });
  expect(result.status).toBe(1);
  expect(result.output).toContain('File cycles (1):');
  expect(result.output).toContain('api/app.ts → api/routes/messages.ts → api/app.ts (type-only)');
});

test('cycles through export *, require() and import() are found; a file importing itself is one', () => {
  const result = check({
    'a.ts': "export * from './b';\n",
    'b.ts': "export const b = () => require('./c');\n",
    'c.ts': "export const c = () => import('./a');\n",
    'self.ts': "import { other } from './self';\nexport const other = 1;\nexport const me = other;\n",
  });
  expect(result.status).toBe(1);
  expect(result.output).toContain('a.ts → b.ts → c.ts → a.ts');
  expect(result.output).toContain('self.ts → self.ts');
});

test('a folder cycle without a file cycle fails, with the import that makes each step', () => {
  const result = check({
    'retry/plan.ts': "import type { Limits } from '../contract/limits';\nexport type Plan = Limits;\n",
    'contract/limits.ts': 'export interface Limits { max: number }\n',
    'contract/message.ts': "import { backoff } from '../retry/backoff';\nexport const message = backoff;\n",
    'retry/backoff.ts': 'export const backoff = 1;\n',
  });
  expect(result.status).toBe(1);
  expect(result.output).not.toContain('File cycles');
  expect(result.output).toContain('Folder cycles (1):');
  expect(result.output).toContain('contract → retry → contract');
  expect(result.output).toContain('contract → retry: contract/message.ts imports retry/backoff.ts');
  expect(result.output).toContain('retry → contract: retry/plan.ts imports contract/limits.ts (type-only)');
});

test('a top-level file belongs to the folder of its name (src/client.ts with src/client/)', () => {
  const result = check({
    'client.ts': "export * from './client/http';\n",
    'client/http.ts': "import { schema } from '../api/schemas';\nexport const http = schema;\n",
    'api/schemas.ts':
      "import type { http } from '../client';\nexport const schema = 1;\nexport type H = typeof http;\n",
  });
  expect(result.status).toBe(1);
  expect(result.output).toContain('api → client → api');
  expect(result.output).toContain('api → client: api/schemas.ts imports client.ts (type-only)');
});
