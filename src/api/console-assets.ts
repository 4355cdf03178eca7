/**
 * The operator console's files (console/: Preact and uPlot, bundled by esbuild). A build (`npm run
 * build`) writes them to dist/console, which the API serves as they are; from a checkout (`npm start`,
 * the tests) the API bundles them itself once per process, in memory, in well under a second.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ConsoleAssets {
  'index.html': Buffer;
  'console.js': Buffer;
  'console.css': Buffer;
}

/** The checkout's console sources, seen from src/api or dist/api. */
const SOURCES = join(__dirname, '..', '..', 'console');
/** Where `npm run build` puts the bundle, seen from dist/api (and absent beside src/api). */
const BUILT = join(__dirname, '..', 'console');

/** Bundles console/ with esbuild (a dev dependency: a built image serves dist/console instead). */
export async function bundleConsole(): Promise<ConsoleAssets> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: { console: join(SOURCES, 'src', 'main.tsx'), styles: join(SOURCES, 'src', 'styles.css') },
    bundle: true,
    write: false,
    outdir: '/console-out',
    format: 'esm',
    target: 'es2020',
    minify: true,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    logLevel: 'silent',
    tsconfig: join(SOURCES, 'tsconfig.json'),
  });
  const file = (name: string) => {
    const found = result.outputFiles.find((output) => output.path.endsWith(`/${name}`));
    if (!found) throw new Error(`the console bundle has no ${name}`);
    return Buffer.from(found.contents);
  };
  return {
    'index.html': readFileSync(join(SOURCES, 'index.html')),
    'console.js': file('console.js'),
    'console.css': file('styles.css'),
  };
}

let assets: Promise<ConsoleAssets> | undefined;

/** The console's files: the built ones when present, else a bundle made once for this process. */
export function consoleAssets(): Promise<ConsoleAssets> {
  assets ??= existsSync(join(BUILT, 'console.js'))
    ? Promise.resolve({
        'index.html': readFileSync(join(BUILT, 'index.html')),
        'console.js': readFileSync(join(BUILT, 'console.js')),
        'console.css': readFileSync(join(BUILT, 'console.css')),
      })
    : bundleConsole();
  return assets;
}
