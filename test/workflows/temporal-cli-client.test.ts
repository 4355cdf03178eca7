/**
 * Herald driven from outside with the Temporal CLI as the client, as an operator would: start a
 * deliverMessage workflow, query its status, send it a reply signal, and list by search attribute.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { MessageStatus } from '../../src/contract/message-status';
import { findTemporalCli } from '../../src/temporal/temporal-cli';
import type { Downstream } from '../helpers/downstream';
import { uniqueId, type TestHerald } from '../helpers/herald';
import { eventually } from '../helpers/eventually';
import { startFixture } from '../helpers/fixture';

const run = promisify(execFile);
let herald: TestHerald;
let downstream: Downstream;
let cli: string;

beforeAll(async () => {
  ({ herald, downstream } = await startFixture());
  cli = findTemporalCli({ install: false, log: () => undefined }).path;
});

async function temporal(...args: string[]): Promise<string> {
  const address = process.env.HERALD_TEST_TEMPORAL_ADDRESS!;
  const { stdout } = await run(cli, [...args, '--address', address, '--namespace', herald.config.temporal.namespace]);
  return stdout;
}

async function queryStatus(id: string): Promise<MessageStatus> {
  const out = await temporal('workflow', 'query', '--workflow-id', id, '--name', 'status', '--output', 'json');
  const parsed = JSON.parse(out) as { queryResult: MessageStatus[] };
  return parsed.queryResult[0]!;
}

function waitForCliState(id: string, state: string): Promise<MessageStatus> {
  // The query fails until the workflow has run its first task: eventually() asks again.
  return eventually(() => queryStatus(id), {
    until: (status) => status.state === state,
    what: `${id} to be ${state}`,
    intervalMs: 200,
  });
}

test('start with --type deliverMessage, query status, send a reply signal, list by HeraldState', async () => {
  const id = uniqueId('cli');
  const message = { id, destination: { url: downstream.url('/cli') }, body: { from: 'cli' }, reply: { timeout: '1m' } };
  await temporal(
    'workflow',
    'start',
    '--type',
    'deliverMessage',
    '--task-queue',
    herald.taskQueue,
    '--workflow-id',
    id,
    '--input',
    JSON.stringify(message),
  );
  const waiting = await waitForCliState(id, 'awaiting_reply');
  expect(waiting.attempts).toEqual([expect.objectContaining({ outcome: 'delivered', status: 200 })]);
  expect(downstream.requests('/cli')[0]?.body).toBe('{"from":"cli"}');

  await temporal('workflow', 'signal', '--workflow-id', id, '--name', 'reply', '--input', '{"body":{"ok":true}}');
  const replied = await waitForCliState(id, 'replied');
  expect(replied.reply).toMatchObject({ body: { ok: true }, via: 'signal' });

  const listed = await eventually(
    () => temporal('workflow', 'list', '--query', `HeraldState='replied' AND WorkflowId='${id}'`),
    { until: (output) => output.includes(id), what: 'the list to show it', intervalMs: 200 },
  );
  expect(listed).toContain(id);
});

test('a malformed input from the CLI is rejected with the reason', async () => {
  const id = uniqueId('cli');
  await temporal(
    'workflow',
    'start',
    '--type',
    'deliverMessage',
    '--task-queue',
    herald.taskQueue,
    '--workflow-id',
    id,
    '--input',
    '{"destination":"nowhere"}',
  );
  const status = await waitForCliState(id, 'rejected');
  expect(status.rejection?.errors.map((e) => e.field)).toEqual(expect.arrayContaining(['/id', '/destination']));
});

test('a bare cancel signal from the CLI cancels the message', async () => {
  const id = uniqueId('cli');
  const message = { id, destination: { url: downstream.url('/cli-cancel') }, body: {}, reply: { timeout: '1m' } };
  await temporal(
    'workflow',
    'start',
    '--type',
    'deliverMessage',
    '--task-queue',
    herald.taskQueue,
    '--workflow-id',
    id,
    '--input',
    JSON.stringify(message),
  );
  await waitForCliState(id, 'awaiting_reply');
  await temporal('workflow', 'signal', '--workflow-id', id, '--name', 'cancel');
  expect((await waitForCliState(id, 'cancelled')).cancellation?.reason).toBe('cancelled by request');
});
