/** `herald` as a child process against the real API, worker and dev server: output, progress and exit codes. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_KEY, type TestApi } from '../helpers/api';
import { closedPort, startDownstream, type Downstream } from '../helpers/downstream';
import { uniqueId, type TestHerald } from '../helpers/herald';
import { startFixture } from '../helpers/fixture';
import { runCli, startCli, type CliOptions } from './run-cli';

let herald: TestHerald;
let api: TestApi;
let downstream: Downstream;
let dir: string;

beforeAll(async () => {
  ({ herald, api, downstream } = await startFixture({ api: true }));
  dir = mkdtempSync(join(tmpdir(), 'herald-cli-'));
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
});

/** The CLI pointed at the test API with the test key (through the environment, as a user would). */
const cli = (args: string[], options: CliOptions = {}) =>
  runCli(args, { ...options, env: { HERALD_URL: api.url, HERALD_API_KEY: API_KEY, ...options.env } });

type Status = { id: string; state: string; attempts: { status?: number }[]; deadLetter: { reason: string } | null };

test('--help documents every command and exit code; usage errors exit 2', async () => {
  const help = await cli(['--help']);
  expect(help.code).toBe(0);
  for (const text of ['send --url URL', 'status ID', 'wait ID', 'dlq list', 'dlq redrive', 'tail', 'Exit codes:']) {
    expect(help.stdout).toContain(text);
  }
  for (const code of [
    '0  success',
    '1  the message ended badly',
    '2  usage error',
    '3  the API refused',
    '4  the API was unreachable',
  ]) {
    expect(help.stdout).toContain(code);
  }

  const mistakes: [string[], RegExp][] = [
    [[], /Usage: herald/],
    [['launch'], /unknown command: launch/],
    [['send'], /send needs --url/],
    [['send', '--url', downstream.url('/x'), '--bogus'], /Unknown option '--bogus'/],
    [['send', '--url', downstream.url('/x'), '--method', 'FETCH'], /--method must be one of/],
    [['send', '--url', downstream.url('/x'), '--data', '{not json'], /--data is not JSON/],
    [['send', '--url', downstream.url('/x'), '--data', '@missing.json'], /cannot read missing.json/],
    [['send', '--url', downstream.url('/x'), '--wait', '--timeout', 'soon'], /--timeout must be a duration/],
    [['send', '--url', downstream.url('/x'), '--header', 'no-colon'], /--header must look like/],
    [['status'], /missing the message id/],
    [['wait', 'a', 'b'], /unexpected argument: b/],
    [['dlq', 'purge'], /unknown dlq command: purge/],
    [['dlq', 'redrive'], /redrive what\?/],
    [['dlq', 'redrive', 'msg_1', '--all'], /either an id or filters/],
    [['dlq', 'list', '--reason', 'bored'], /--reason must be one of/],
    [['dlq', 'list', '--limit', '9999'], /--limit must be a whole number from 1 to 500/],
    [['status', 'x', '--url', 'ftp://example.com'], /the API URL must be an http\(s\) URL/],
  ];
  const runs = await Promise.all(mistakes.map(([args]) => cli(args)));
  runs.forEach((run, i) => {
    const [args, message] = mistakes[i]!;
    expect({ args, code: run.code }).toEqual({ args, code: 2 });
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe('');
  });
});

test('send --wait --json: exit 0, one JSON document on stdout, progress on stderr', async () => {
  // Retry-After holds the second attempt back long enough for a poll to see the message between attempts.
  downstream.script('/cli-retry', [{ status: 503, headers: { 'retry-after': '2' } }, { status: 200 }]);
  const payload = join(dir, 'order.json');
  writeFileSync(payload, JSON.stringify({ order: 1001 }));
  const run = await cli([
    'send',
    '--url',
    downstream.url('/cli-retry'),
    '--method',
    'put',
    '--data',
    `@${payload}`,
    '--header',
    'X-Tenant: acme',
    '--wait',
    '--timeout',
    '1m',
    '--json',
  ]);
  expect(run.code).toBe(0);
  const status = JSON.parse(run.stdout) as Status;
  expect(status.id).toMatch(/^msg_[0-9a-z]{26}$/);
  expect(status.state).toBe('delivered');
  expect(status.attempts.map((attempt) => attempt.status)).toEqual([503, 200]);
  expect(run.stderr).toMatch(/^delivering \(attempt 1: http_503, next in [\d.]+m?s\)$/m);
  expect(run.stderr).toMatch(/^delivered \(200 in \d+ ms, attempt 2\)$/m);

  const received = downstream.requests('/cli-retry');
  expect(received).toHaveLength(2);
  expect(received[1]).toMatchObject({ method: 'PUT', body: '{"order":1001}' });
  expect(received[1]?.headers['x-tenant']).toBe('acme');
  expect(received[1]?.headers['idempotency-key']).toBe(status.id);
});

test('send prints the id and state; status and wait show the message', async () => {
  const id = uniqueId('cli-order');
  const sent = await cli(['send', '--url', downstream.url('/cli-plain'), '--data', '{"a":1}', '--id', id]);
  expect(sent.code).toBe(0);
  expect(sent.stdout).toBe(`${id} accepted\n`);

  const waited = await cli(['wait', id, '--timeout', '1m', '--json']);
  expect(waited.code).toBe(0);
  expect(JSON.parse(waited.stdout)).toMatchObject({ id, state: 'delivered' });

  const human = await cli(['status', id]);
  expect(human.code).toBe(0);
  expect(human.stdout).toMatch(new RegExp(`^id +${id}$`, 'm'));
  expect(human.stdout).toMatch(/^state +delivered$/m);
  expect(human.stdout).toMatch(/^attempts +1 \(last: delivered, 200 in \d+ ms\)$/m);

  const json = await cli(['status', id, '--json']);
  expect(JSON.parse(json.stdout)).toMatchObject({ id, state: 'delivered', source: 'workflow' });

  // The same id and content again is a resend.
  const again = await cli(['send', '--url', downstream.url('/cli-plain'), '--data', '{"a":1}', '--id', id, '--json']);
  expect(again.code).toBe(0);
  expect(JSON.parse(again.stdout)).toEqual({ id, state: 'delivered', existing: true });
});

test('wait on a message that is dead-lettered exits 1 with its status', async () => {
  downstream.script('/cli-dead', [{ status: 404 }]);
  const sent = await cli(['send', '--url', downstream.url('/cli-dead'), '--json']);
  const { id } = JSON.parse(sent.stdout) as { id: string };
  const run = await cli(['wait', id, '--json']);
  expect(run.code).toBe(1);
  expect(JSON.parse(run.stdout)).toMatchObject({
    id,
    state: 'dead_lettered',
    deadLetter: { reason: 'permanent_error' },
  });
  expect(run.stderr).toMatch(/^dead_lettered \(permanent_error/m);
  expect(run.stderr).toContain(`message ${id} was dead-lettered (permanent_error)`);

  const human = await cli(['send', '--url', downstream.url('/cli-dead'), '--wait']);
  expect(human.code).toBe(1);
  expect(human.stdout).toMatch(/^state +dead_lettered$/m);
  expect(human.stdout).toMatch(/^dead letter +permanent_error at /m);
});

test('wait gives up after --timeout with exit 4; the message goes on', async () => {
  const id = uniqueId('cli-waits');
  await cli(['send', '--url', downstream.url('/cli-asks'), '--id', id, '--reply-timeout', '1m']);
  await herald.waitForState(id, 'awaiting_reply');
  const run = await cli(['wait', id, '--timeout', '1s']);
  expect(run.code).toBe(4);
  expect(run.stdout).toBe('');
  expect(run.stderr).toMatch(/^awaiting_reply \(delivered: 200 in \d+ ms\)$/m);
  expect(run.stderr).toContain(`message ${id} did not end within 1000 ms (last state: awaiting_reply)`);
  expect((await herald.status(id)).state).toBe('awaiting_reply');
  await api.call('POST', `/v1/messages/${id}/cancel`);
});

test('dlq list shows a table or JSON; dlq redrive takes one id or every match, with progress', async () => {
  const target = await startDownstream();
  try {
    target.script('/dl', [{ status: 400 }]);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const run = await cli(['send', '--url', target.url('/dl'), '--data', `{"i":${i}}`, '--wait', '--json']);
      expect(run.code).toBe(1);
      ids.push((JSON.parse(run.stdout) as Status).id);
    }
    const host = `127.0.0.1:${target.port}`;

    const table = await cli(['dlq', 'list', '--destination', host]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +KIND +STATE +REASON +DESTINATION +ATTEMPTS +DEAD-LETTERED$/);
    expect(lines.slice(1).map((line) => line.split(/ +/).slice(0, 6))).toEqual(
      ids.map((id) => [id, 'message', 'dead_lettered', 'permanent_error', host, '1']),
    );
    const json = await cli(['dlq', 'list', '--destination', host, '--limit', '2', '--json']);
    const page = JSON.parse(json.stdout) as { items: { id: string }[]; nextCursor: string | null };
    expect(page.items.map((item) => item.id)).toEqual(ids.slice(0, 2));
    expect(page.nextCursor).toEqual(expect.any(String));
    const rest = await cli(['dlq', 'list', '--destination', host, '--cursor', page.nextCursor!, '--json']);
    expect((JSON.parse(rest.stdout) as typeof page).items.map((item) => item.id)).toEqual(ids.slice(2));

    target.script('/dl', [{ status: 200 }]);
    const one = await cli(['dlq', 'redrive', ids[0]!]);
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(new RegExp(`^${ids[0]} redriven \\(resumed\\)`));
    await herald.waitForState(ids[0]!, 'delivered');
    const twice = await cli(['dlq', 'redrive', ids[0]!]);
    expect(twice.code).toBe(3);
    expect(twice.stderr).toContain('redrive-not-allowed');

    const many = await cli(['dlq', 'redrive', '--destination', host, '--json']);
    expect(many.code).toBe(0);
    expect(JSON.parse(many.stdout)).toEqual({ matched: 2, redriven: 2, failed: [] });
    // stderr is not a terminal here: plain progress lines, not a bar.
    expect(many.stderr.trimEnd().split('\n')).toEqual(['redriven 1/2', 'redriven 2/2']);
    for (const id of ids) await herald.waitForState(id, 'delivered');

    const none = await cli(['dlq', 'redrive', '--destination', host]);
    expect(none.code).toBe(0);
    expect(none.stdout).toBe('redriven 0 of 0\n');
  } finally {
    await target.close();
  }
});

test('a refused request exits 3 and says why on stderr', async () => {
  const refused = await cli(['send', '--url', 'http://10.1.2.3/internal', '--json']);
  expect(refused.code).toBe(3);
  expect(refused.stdout).toBe('');
  expect(refused.stderr).toContain('422');
  expect(refused.stderr).toContain('[destination-not-allowed]');
  expect(refused.stderr).toContain('/destination/url');

  const unknown = await cli(['status', uniqueId('unknown')]);
  expect(unknown.code).toBe(3);
  expect(unknown.stderr).toContain('[not-found]');

  const badKey = await cli(['dlq', 'list'], { env: { HERALD_API_KEY: 'not-a-key-at-all-xx' } });
  expect(badKey.code).toBe(3);
  expect(badKey.stderr).toContain('[unauthorized]');
});

test('an unreachable API exits 4', async () => {
  const port = await closedPort();
  const send = await cli(['send', '--url', downstream.url('/x'), '--api-url', `http://127.0.0.1:${port}`]);
  expect(send.code).toBe(4);
  expect(send.stderr).toContain(`cannot reach http://127.0.0.1:${port}/v1/messages`);
  const status = await cli(['status', 'msg_x'], { env: { HERALD_URL: `http://127.0.0.1:${port}` } });
  expect(status.code).toBe(4);
});

test('the API key defaults to .data/dev-api-key in the working directory', async () => {
  const project = join(dir, 'project');
  mkdirSync(join(project, '.data'), { recursive: true });
  const noKey = await runCli(['dlq', 'list'], { cwd: project, env: { HERALD_URL: api.url } });
  expect(noKey.code).toBe(2);
  expect(noKey.stderr).toContain('no API key');

  writeFileSync(join(project, '.data', 'dev-api-key'), `${API_KEY}\n`);
  const withKey = await runCli(['dlq', 'list', '--json', '--limit', '1'], {
    cwd: project,
    env: { HERALD_URL: api.url },
  });
  expect(withKey.code).toBe(0);
  expect(JSON.parse(withKey.stdout)).toHaveProperty('items');
});

test('tail follows the real event stream (GET /v1/events) until interrupted', async () => {
  const tail = startCli(['tail', '--json'], { env: { HERALD_URL: api.url, HERALD_API_KEY: API_KEY } });
  try {
    await tail.waitFor('stderr', /following .*\/v1\/events/);
    const id = uniqueId('cli-tail');
    await cli(['send', '--url', downstream.url('/cli-tail'), '--id', id]);
    await tail.waitFor('stdout', new RegExp(`"id":"${id}","state":"delivered"`));
    const events = tail
      .stdout()
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: string; state: string; seq: number; destination: string; at: string });
    const mine = events.filter((event) => event.id === id);
    expect(mine.map((event) => event.state)).toEqual(['accepted', 'delivering', 'delivered']);
    expect(mine[0]).toMatchObject({ destination: `127.0.0.1:${downstream.port}`, at: expect.any(String) });
  } finally {
    tail.child.kill('SIGTERM');
  }
  expect(await tail.exited).toBe(0);
});
