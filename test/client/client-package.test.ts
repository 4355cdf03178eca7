/**
 * The published HTTP client (`npm run build`, then `require('herald')`) must not load the Temporal SDK:
 * senders install Herald's client to talk HTTP, not to carry a native Temporal runtime.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

describe('the built client', () => {
  let outDir: string;
  beforeAll(() => {
    // Inside the checkout, so the build's require('undici') resolves to this node_modules.
    mkdirSync(join(root, 'test', '.tmp'), { recursive: true });
    outDir = mkdtempSync(join(root, 'test', '.tmp', 'client-build-'));
    execFileSync(
      process.execPath,
      [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', outDir],
      {
        cwd: root,
        stdio: 'pipe',
      },
    );
  }, 120_000);
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it('loads no @temporalio module in a fresh Node process', () => {
    const script = `
      const client = require(${JSON.stringify(join(outDir, 'client.js'))});
      if (typeof client.HeraldClient !== 'function') throw new Error('HeraldClient is not exported');
      const loaded = Object.keys(require.cache).filter((file) => file.includes('node_modules'));
      process.stdout.write(JSON.stringify(loaded));`;
    // Run from the checkout so node_modules resolves as it would for an installed package.
    const loaded = JSON.parse(
      execFileSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8' }),
    ) as string[];
    expect(loaded.length).toBeGreaterThan(0); // undici, at least: the check sees what was loaded
    expect(loaded.filter((file) => file.includes('@temporalio'))).toEqual([]);
  });
});
