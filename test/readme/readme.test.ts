/**
 * The README works as written. Every ```sh and ```ts block in README.md is either run here or listed
 * as excluded with the reason; a block that is neither fails the test. The blocks run against a real
 * stack this test starts: the dev server from jest's global setup, a Herald worker, the HTTP API and
 * the README's own receiver.
 *
 * The shell blocks run verbatim, in README order, in one bash session (variables such as $KEY and $ID
 * carry over, as in a reader's terminal), in a temp directory laid out like a checkout (package.json,
 * src/, bin/, scripts/, node_modules/, … linked to this one; its own .data/). The only changes are the
 * README's fixed addresses, swapped for the ones this test started:
 *   - http://127.0.0.1:3000 (the API)  → the test API's URL (and HERALD_URL for the `herald` CLI's default);
 *   - port 9000 (the receiver)          → a free port;
 *   - `--task-queue herald`             → the test worker's task queue;
 *   - TEMPORAL_PORT (embedded default)  → the test dev server's port;
 *   - .data/dev-api-key, .data/dev-reply-secret, .data/dev-delivery-secret → written with the test's key and secrets.
 * `curl` fails on an HTTP error status (--fail-with-body), so an example that answers 404 fails the test.
 *
 * TypeScript blocks are type-checked with the project's tsconfig, then run with tsx from the same
 * directory, so `./src/client` resolves as it does in a checkout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { API_KEY, REPLY_SECRET, type TestApi } from '../helpers/api';
import { closedPort } from '../helpers/downstream';
import type { TestHerald } from '../helpers/herald';
import { startFixture } from '../helpers/fixture';

const root = join(__dirname, '..', '..');
/** The secret the test's worker signs deliveries with, as the embedded default's generated one. */
const DELIVERY_SECRET = `whsec_${Buffer.from('herald-readme-delivery-secret-32b').toString('base64')}`;
const README = readFileSync(join(root, 'README.md'), 'utf8');

interface ReadmeBlock {
  lang: string;
  text: string;
  /** 1-based line of the opening fence. */
  line: number;
}

/** Languages whose blocks are commands or code a reader would run; other fences are output or data. */
const RUNNABLE_LANGS = new Set(['sh', 'bash', 'shell', 'console', 'zsh', 'ts', 'typescript', 'js', 'javascript']);

type Plan =
  | { starts: string; mode: 'run'; prints?: string[] }
  | { starts: string; mode: 'background'; ready: 'receiver' | 'tail' }
  | { starts: string; mode: 'excluded'; reason: string };

/** Every runnable README block, in order, by how its first line starts. */
const PLAN: Plan[] = [
  {
    starts: 'npm start',
    mode: 'excluded',
    reason:
      '`npm start` runs the whole stack on fixed ports until Ctrl-C (this test starts the same stack on free ports); ' +
      '`npm test` is the command that runs this test',
  },
  { starts: `node -e "require('node:http')`, mode: 'background', ready: 'receiver' },
  { starts: 'KEY=$(cat .data/dev-api-key)', mode: 'run' },
  { starts: 'npm run temporal -- workflow start', mode: 'run' },
  { starts: 'npx herald send', mode: 'run' },
  { starts: 'npx herald tail', mode: 'background', ready: 'tail' },
  // The console's dead letter: a message to a port nothing listens on, with one attempt.
  { starts: 'curl -s -X POST http://127.0.0.1:3000/v1/messages -H "Authorization: Bearer $(cat', mode: 'run' },
  { starts: 'SECRET=$(cat .data/dev-reply-secret)', mode: 'run' },
  { starts: 'head -c 5000000 /dev/urandom > big.bin', mode: 'run' },
  {
    starts: "import { readFileSync } from 'node:fs';",
    mode: 'run',
    // What the snippet's comments promise: no reply within 5s, the message awaits it.
    prints: ['no outcome yet; the message goes on', 'awaiting_reply'],
  },
  {
    starts: 'curl -s http://127.0.0.1:3000/metrics',
    mode: 'excluded',
    reason:
      'the worker half scrapes the default worker metrics port, which the workers of this suite leave off; ' +
      'test/observability/metrics.test.ts scrapes both endpoints of a real run',
  },
  {
    starts: 'docker run --rm -d --name jaeger',
    mode: 'excluded',
    reason:
      'needs Docker and a collector image, then runs the whole stack on fixed ports until Ctrl-C; ' +
      'test/observability/tracing.test.ts runs Herald with tracing on against an OTLP receiver on 127.0.0.1',
  },
  {
    starts: 'npm run dashboard:picture',
    mode: 'excluded',
    reason:
      'starts PostgreSQL, a dev server, Herald, downstreams and Prometheus for about 80 s and overwrites the ' +
      "README's picture; test/deploy/dashboard-picture.test.ts runs the same renderer against a real Prometheus",
  },
  // The destination verifies a signed delivery with the standardwebhooks package.
  { starts: "import { createServer } from 'node:http';", mode: 'run', prints: ['verified: { order: 42 }'] },
  {
    starts: 'npm run temporal:build',
    mode: 'excluded',
    reason:
      'builds Go for minutes on a fresh machine and runs a server in the foreground until Ctrl-C; ' +
      '`npm run test:fleet` runs the same scripts (test/fleet/), the dev-server variant included',
  },
  {
    starts: 'node scripts/postgres.mjs --port 5434',
    mode: 'excluded',
    reason:
      'a fleet on fixed ports, each process in the foreground, on the Temporal server built from Go; ' +
      'test/multi-host/ runs the same layout (two APIs, workers, one PostgreSQL) on free ports',
  },
  {
    starts: 'npm run bench ',
    mode: 'excluded',
    reason:
      'benchmarks run for 6–15 minutes and measure timings, which tests never do; test/bench/ covers their ' +
      'statistics and report, and each of these commands was run as written for the figures in the README',
  },
];

/** The fenced blocks of a Markdown text in runnable languages (indented fences, in lists, included). */
function readmeBlocks(markdown: string): ReadmeBlock[] {
  const blocks: ReadmeBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\S*)\s*$/.exec(lines[i] ?? '');
    if (!open) continue;
    const indent = open[1]?.length ?? 0;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j] ?? ''); j++) body.push((lines[j] ?? '').slice(indent));
    const lang = (open[2] ?? '').toLowerCase();
    if (RUNNABLE_LANGS.has(lang)) blocks.push({ lang, text: body.join('\n'), line: i + 1 });
    i = j;
  }
  return blocks;
}

/** Pairs each README block with its plan entry; throws naming a block that has none, or a stale entry. */
function planBlocks(blocks: ReadmeBlock[]): { block: ReadmeBlock; plan: Plan }[] {
  const unplanned = blocks.filter((block) => PLAN.filter((p) => block.text.startsWith(p.starts)).length !== 1);
  if (unplanned.length > 0) {
    throw new Error(
      `README blocks neither run nor excluded by test/readme/readme.test.ts (add each to PLAN):\n${unplanned
        .map((block) => `  line ${block.line} (${block.lang}): ${block.text.split('\n')[0]}`)
        .join('\n')}`,
    );
  }
  const stale = PLAN.filter((p) => !blocks.some((block) => block.text.startsWith(p.starts)));
  if (stale.length > 0) {
    throw new Error(`PLAN entries with no README block: ${stale.map((p) => JSON.stringify(p.starts)).join(', ')}`);
  }
  return blocks.map((block) => ({ block, plan: PLAN.find((p) => block.text.startsWith(p.starts))! }));
}

test('every sh and ts block of the README is run or excluded here, and the plan has no stale entries', () => {
  const planned = planBlocks(readmeBlocks(README));
  expect(planned.map(({ block, plan }) => [block.lang, plan.starts])).toEqual(
    PLAN.map((plan) => [plan.starts.startsWith('import ') ? 'ts' : 'sh', plan.starts]),
  );
});

test('a block missing from the plan is reported', () => {
  const markdown = 'text\n\n```sh\nnpm run something-new\n```\n\n  ```ts\n  const x = 1;\n  ```\n';
  expect(() => planBlocks([...readmeBlocks(README), ...readmeBlocks(markdown)])).toThrow(
    /line 3 \(sh\): npm run something-new\n {2}line 7 \(ts\): const x = 1;/,
  );
});

describe('the README against a real stack', () => {
  let herald: TestHerald;
  let api: TestApi;
  let work: string;
  let receiverPort: number;
  let env: NodeJS.ProcessEnv;
  const background: { plan: Plan; child: ChildProcess; stdout: string[]; stderr: string[] }[] = [];
  const planned = planBlocks(readmeBlocks(README));

  /** The README's text with its fixed addresses swapped for this test's (see the top of this file). */
  const adapt = (text: string) =>
    text
      .replaceAll('http://127.0.0.1:3000', api.url)
      .replace(/\b9000\b/g, String(receiverPort))
      .replaceAll('--task-queue herald', `--task-queue ${herald.taskQueue}`);

  beforeAll(async () => {
    ({ herald, api } = await startFixture({
      api: true,
      env: { HERALD_DELIVERY_SECRETS: JSON.stringify({ '*': DELIVERY_SECRET }) },
    }));
    receiverPort = await closedPort();
    work = mkdtempSync(join(tmpdir(), 'herald-readme-'));
    for (const entry of [
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'bin',
      'src',
      'scripts',
      'node_modules',
      '.tools',
    ]) {
      symlinkSync(join(root, entry), join(work, entry));
    }
    mkdirSync(join(work, '.data'));
    writeFileSync(join(work, '.data', 'dev-api-key'), `${API_KEY}\n`);
    writeFileSync(join(work, '.data', 'dev-reply-secret'), `${REPLY_SECRET}\n`);
    writeFileSync(join(work, '.data', 'dev-delivery-secret'), `${DELIVERY_SECRET}\n`);

    // A reader's shell: none of this run's npm, Herald or Temporal variables, then the test's addresses.
    env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(npm_|HERALD_|TEMPORAL_)/i.test(name)));
    Object.assign(env, {
      HERALD_URL: api.url,
      TEMPORAL_PORT: process.env.HERALD_TEST_TEMPORAL_ADDRESS!.split(':').pop(),
      TEMPORAL_NAMESPACE: herald.config.temporal.namespace,
      // npm and npx without the registry: nothing here needs it.
      npm_config_offline: 'true',
      npm_config_update_notifier: 'false',
      npm_config_fund: 'false',
      npm_config_audit: 'false',
      npm_config_cache: join(work, '.npm-cache'),
    });

    // Long-running blocks start first, so the receiver answers and `tail` sees every message sent after.
    for (const { block, plan } of planned) {
      if (plan.mode !== 'background') continue;
      const child = spawn('bash', ['-c', adapt(block.text)], { cwd: work, env, detached: true });
      const entry = { plan, child, stdout: [] as string[], stderr: [] as string[] };
      child.stdout?.on('data', (chunk: Buffer) => entry.stdout.push(chunk.toString()));
      child.stderr?.on('data', (chunk: Buffer) => entry.stderr.push(chunk.toString()));
      background.push(entry);
      await waitUntil(
        plan.ready === 'receiver'
          ? () => accepts(receiverPort)
          : () => Promise.resolve(entry.stderr.join('').includes('herald: following')),
        60_000,
        () => `README line ${block.line} did not get ready: ${entry.stderr.join('')}`,
      );
    }
  }, 120_000);

  afterAll(async () => {
    for (const { child } of background) {
      // Each runs in its own process group (detached): end the group, bash and what it started.
      if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
    }
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('the shell blocks run in order, verbatim, and do what they say', async () => {
    const steps = planned.filter(({ block, plan }) => plan.mode === 'run' && block.lang === 'sh');
    const script = [
      'set -eo pipefail',
      'curl() { command curl --fail-with-body "$@"; }',
      ...steps.flatMap(({ block }) => [`echo "::README line ${block.line}" >&2`, adapt(block.text)]),
      'echo "::ID=$ID"',
    ].join('\n');
    const run = await runProcess('bash', ['-c', script], 150_000);
    if (run.code !== 0) {
      const failedAt = [...run.stderr.matchAll(/::README line (\d+)/g)].pop()?.[1];
      throw new Error(
        `README shell block at line ${failedAt} failed (exit ${run.code})\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`,
      );
    }
    const id = /::ID=(\S+)/.exec(run.stdout)?.[1];
    expect(id).toMatch(/^msg_/);
    // The HTTP message took the signed reply; the Temporal CLI's message took the signalled one.
    expect((await herald.waitForState(id!, 'replied')).reply).toMatchObject({ body: { ok: true }, status: 200 });
    expect((await herald.waitForState('order-1001', 'replied')).reply).toMatchObject({ body: { ok: true } });
    // `herald tail` followed them live.
    const tail = background.find(({ plan }) => plan.mode === 'background' && plan.ready === 'tail')!;
    await waitUntil(
      () => Promise.resolve(new RegExp(`replied +${id}`).test(tail.stdout.join(''))),
      20_000,
      () => `herald tail printed no "replied ${id}":\n${tail.stdout.join('')}`,
    );
  }, 180_000);

  test('the TypeScript blocks type-check and run', async () => {
    const blocks = planned.filter(({ block, plan }) => plan.mode === 'run' && block.lang === 'ts');
    expect(blocks).not.toHaveLength(0);
    for (const { block, plan } of blocks) {
      const file = join(work, `readme-line-${block.line}.ts`);
      writeFileSync(file, adapt(block.text));
      expect(typeErrors(file)).toEqual([]);
      const run = await runProcess(join(root, 'node_modules', '.bin', 'tsx'), [file], 60_000);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
      const prints = plan.mode === 'run' ? (plan.prints ?? []) : [];
      expect(prints).not.toHaveLength(0);
      for (const line of prints) expect(run.stdout).toContain(line);
    }
  }, 120_000);

  function runProcess(
    command: string,
    args: string[],
    timeoutMs: number,
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(command, args, { cwd: work, env, timeout: timeoutMs });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }
});

/** TypeScript diagnostics of one file under the project's tsconfig (its rootDir aside: the file is elsewhere). */
function typeErrors(file: string): string[] {
  const config = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const program = ts.createProgram([file], { ...options, rootDir: undefined, noEmit: true });
  return ts
    .getPreEmitDiagnostics(program)
    .map((d) => `${d.file?.fileName ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(describe());
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
