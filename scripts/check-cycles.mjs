#!/usr/bin/env node
// `npm run deps:check`: fails when src/ has an import cycle between files, or between its top-level
// folders (api, temporal, contract, …; a top-level file such as src/client.ts counts as the folder of
// its name, the barrel of src/client/). Every import is resolved with the TypeScript compiler API and
// the project's tsconfig, type-only ones included: they vanish at run time, but a cycle through them
// is still two layers that each need the other.
//
// Usage: node scripts/check-cycles.mjs [--src DIR] [--tsconfig FILE]   (defaults: src, tsconfig.json)
import { readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** Every .ts file under dir (no declaration files), sorted so reports are stable. */
export function listSourceFiles(dir) {
  const files = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...listSourceFiles(path));
    else if (/\.(ts|tsx|mts|cts)$/.test(entry.name) && !/\.d\.[mc]?ts$/.test(entry.name)) files.push(path);
  }
  return files.sort();
}

/** Module specifiers a file imports, each with whether only types come through it. */
export function importsOf(sourceFile) {
  const found = [];
  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      if (ts.isStringLiteral(node.moduleSpecifier)) {
        found.push({ specifier: node.moduleSpecifier.text, typeOnly: isTypeOnly(node) });
      }
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const expression = node.moduleReference.expression;
      if (ts.isStringLiteral(expression)) found.push({ specifier: expression.text, typeOnly: node.isTypeOnly });
    } else if (ts.isCallExpression(node) && node.arguments.length === 1 && ts.isStringLiteral(node.arguments[0])) {
      // import('x') and require('x')
      const isImport = node.expression.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(node.expression) && node.expression.text === 'require';
      if (isImport || isRequire) found.push({ specifier: node.arguments[0].text, typeOnly: false });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      // type X = import('x').Y
      if (ts.isStringLiteral(node.argument.literal))
        found.push({ specifier: node.argument.literal.text, typeOnly: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return found;
}

/** `import type`, `export type`, or an import whose every named binding is `type`: erased at run time. */
function isTypeOnly(node) {
  if (ts.isExportDeclaration(node)) {
    if (node.isTypeOnly) return true;
    const clause = node.exportClause;
    return (
      !!clause && ts.isNamedExports(clause) && clause.elements.length > 0 && clause.elements.every((e) => e.isTypeOnly)
    );
  }
  const clause = node.importClause;
  if (!clause) return false; // a side-effect import runs the module
  if (clause.isTypeOnly) return true;
  if (clause.name) return false;
  const bindings = clause.namedBindings;
  return (
    !!bindings &&
    ts.isNamedImports(bindings) &&
    bindings.elements.length > 0 &&
    bindings.elements.every((e) => e.isTypeOnly)
  );
}

/**
 * The import graph of the files under srcDir: file (relative to srcDir, with '/') → imported file →
 * whether every import along that edge is type-only. Imports that leave srcDir are ignored.
 */
export function buildImportGraph(srcDir, tsconfigPath) {
  const root = resolve(srcDir);
  const config = ts.readConfigFile(tsconfigPath, ts.sys.readFile);
  if (config.error) throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, '\n'));
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, dirname(resolve(tsconfigPath)));
  const host = ts.createCompilerHost(options);
  const name = (file) => relative(root, file).split(sep).join('/');
  const graph = new Map();
  for (const file of listSourceFiles(root)) {
    const text = ts.sys.readFile(file) ?? '';
    const sourceFile = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const edges = new Map();
    for (const { specifier, typeOnly } of importsOf(sourceFile)) {
      const resolved = ts.resolveModuleName(specifier, file, options, host).resolvedModule;
      if (!resolved || resolved.isExternalLibraryImport) continue;
      const target = resolve(resolved.resolvedFileName);
      if (target.endsWith('.d.ts') || !target.startsWith(root + sep)) continue;
      const to = name(target);
      edges.set(to, (edges.get(to) ?? true) && typeOnly);
    }
    graph.set(name(file), edges);
  }
  return graph;
}

/** The folder a file belongs to: its first path segment, or its own name for a top-level file. */
export function folderOf(file) {
  const [first] = file.split('/');
  return file.includes('/') ? first : first.replace(/\.[cm]?tsx?$/, '');
}

/** The folder graph: an edge per pair of distinct folders, with one file-level import that makes it. */
export function folderGraph(graph) {
  const folders = new Map();
  for (const [from, edges] of graph) {
    const source = folderOf(from);
    if (!folders.has(source)) folders.set(source, new Map());
    for (const [to, typeOnly] of edges) {
      const target = folderOf(to);
      if (target === source) continue;
      const known = folders.get(source).get(target);
      // Prefer a value import as the witness: it is the one that matters at run time.
      if (!known || (known.typeOnly && !typeOnly)) folders.get(source).set(target, { from, to, typeOnly });
    }
  }
  return folders;
}

/** Strongly connected components with more than one node, or a node importing itself (Tarjan). */
export function knots(graph) {
  let index = 0;
  const indices = new Map();
  const lowLinks = new Map();
  const stack = [];
  const onStack = new Set();
  const result = [];
  const strongConnect = (node) => {
    indices.set(node, index);
    lowLinks.set(node, index);
    index += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node)?.keys() ?? []) {
      if (!indices.has(next)) {
        strongConnect(next);
        lowLinks.set(node, Math.min(lowLinks.get(node), lowLinks.get(next)));
      } else if (onStack.has(next)) {
        lowLinks.set(node, Math.min(lowLinks.get(node), indices.get(next)));
      }
    }
    if (lowLinks.get(node) === indices.get(node)) {
      const component = [];
      let member;
      do {
        member = stack.pop();
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || graph.get(node)?.has(node)) result.push(component.sort());
    }
  };
  for (const node of [...graph.keys()].sort()) if (!indices.has(node)) strongConnect(node);
  return result.sort((a, b) => a[0].localeCompare(b[0]));
}

/** The shortest cycle through `start` that stays inside `members`, as [start, …, start]. */
function shortestCycleThrough(graph, start, members) {
  const previous = new Map();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift();
    for (const next of [...(graph.get(node)?.keys() ?? [])].sort()) {
      if (!members.has(next)) continue;
      if (next === start) {
        const path = [node];
        while (path[0] !== start) path.unshift(previous.get(path[0]));
        return [...path, start];
      }
      if (!previous.has(next)) {
        previous.set(next, node);
        queue.push(next);
      }
    }
  }
  return undefined;
}

/**
 * Every cycle worth printing: for each knot, the shortest cycle through each of its members, without
 * repeats (the same loop found from another member). Each cycle is [a, b, …, a], a its smallest member.
 */
export function findCycles(graph) {
  const cycles = [];
  const seen = new Set();
  for (const component of knots(graph)) {
    const members = new Set(component);
    for (const start of component) {
      const cycle = shortestCycleThrough(graph, start, members);
      if (!cycle) continue;
      // Start each loop at its smallest member, so the same loop found twice reads the same.
      const loop = cycle.slice(0, -1);
      const first = loop.indexOf([...loop].sort()[0]);
      const rotated = [...loop.slice(first), ...loop.slice(0, first)];
      const key = rotated.join(' → ');
      if (seen.has(key)) continue;
      seen.add(key);
      cycles.push([...rotated, rotated[0]]);
    }
  }
  return cycles;
}

/** Human-readable report lines for file and folder cycles; empty when there are none. */
export function describeCycles(graph) {
  const lines = [];
  const typeTag = (typeOnly) => (typeOnly ? ' (type-only)' : '');
  const fileCycles = findCycles(graph);
  if (fileCycles.length > 0) {
    lines.push(`File cycles (${fileCycles.length}):`);
    for (const cycle of fileCycles) {
      const steps = cycle.slice(1).map((to, i) => `${to}${typeTag(graph.get(cycle[i]).get(to))}`);
      lines.push(`  ${cycle[0]} → ${steps.join(' → ')}`);
    }
  }
  const folders = folderGraph(graph);
  const folderCycles = findCycles(folders);
  if (folderCycles.length > 0) {
    lines.push(`Folder cycles (${folderCycles.length}):`);
    for (const cycle of folderCycles) {
      lines.push(`  ${cycle.join(' → ')}`);
      for (let i = 0; i < cycle.length - 1; i++) {
        const witness = folders.get(cycle[i]).get(cycle[i + 1]);
        lines.push(
          `    ${cycle[i]} → ${cycle[i + 1]}: ${witness.from} imports ${witness.to}${typeTag(witness.typeOnly)}`,
        );
      }
    }
  }
  return lines;
}

function main(argv) {
  const option = (flag, fallback) => {
    const at = argv.indexOf(flag);
    return at >= 0 && argv[at + 1] ? argv[at + 1] : fallback;
  };
  const srcDir = resolve(option('--src', 'src'));
  const tsconfig = resolve(option('--tsconfig', 'tsconfig.json'));
  const graph = buildImportGraph(srcDir, tsconfig);
  const lines = describeCycles(graph);
  const where = relative(process.cwd(), srcDir) || '.';
  if (lines.length === 0) {
    console.log(`deps:check: no import cycles in ${where} (${graph.size} files)`);
    return 0;
  }
  console.error(`deps:check: import cycles in ${where}; break each one (type-only imports count too).`);
  for (const line of lines) console.error(line);
  return 1;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
