/**
 * `npm run build`'s second half: bundles the operator console (console/) with esbuild into dist/console,
 * which the built API (dist/api) serves as it is. A checkout's API bundles it itself at start.
 *
 *   tsx scripts/build-console.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleConsole } from '../src/api/console-assets';

async function main(): Promise<void> {
  const out = join(__dirname, '..', 'dist', 'console');
  mkdirSync(out, { recursive: true });
  for (const [name, bytes] of Object.entries(await bundleConsole())) writeFileSync(join(out, name), bytes);
  console.log(`console bundled into ${out}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
