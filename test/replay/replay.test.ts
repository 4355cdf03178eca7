/**
 * Replays recorded histories of every kind of deliverMessage run against the current workflow code.
 * A change that would break running workflows (a non-deterministic change) fails here, in CI, before
 * it reaches a worker. Re-record with `npm run replay:record` only for an intended, versioned change.
 */
import { Resource } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { makeWorkflowExporter } from '@temporalio/interceptors-opentelemetry';
import { Worker } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseKeyring } from '../../src/encryption/keyring';
import { heraldDataConverter } from '../../src/encryption/payload-codec';
import { createLogger } from '../../src/observability/logger';
import { bundleHeraldWorkflows, TRACING_WORKFLOW_INTERCEPTOR_MODULES } from '../../src/runtime/workflow-bundle';
import { installRuntimeLogger } from '../../src/temporal/runtime-logger';
import { HISTORIES_DIR } from '../helpers/histories';

/** The scenarios the integration tests record; each must have a committed history. */
const MESSAGE_SCENARIOS = [
  'retried-then-delivered',
  'permanent-error-dead-lettered',
  'retry-after-honoured',
  'max-attempts-dead-lettered',
  'deadline-dead-lettered',
  'reply-by-signal',
  'reply-by-update',
  'reply-timeout-dead-lettered',
  'retried-replied',
  'redriven-then-delivered',
  'cancelled-between-retries',
  'rejected-malformed',
];
/** Recorded since the event log and callbacks (the `herald-events-and-callbacks-v1` patch). */
const SCENARIOS = [
  ...MESSAGE_SCENARIOS,
  'delivered-with-callback',
  'callback-dead-lettered',
  'subscribed-later-replied',
  'dead-letter-discarded',
  'restarted-run-dead-lettered-again',
];
/** Histories recorded before that patch: running workflows from then must still replay. */
const BEFORE_EVENTS_DIR = join(HISTORIES_DIR, 'before-events');
/**
 * Recorded before the `herald-wire-rules-v1` patch, from input those rules now refuse (transport headers
 * dropped and delivered; a CR LF header retried to a dead letter): such runs must replay as they ran.
 */
const BEFORE_WIRE_RULES_DIR = join(HISTORIES_DIR, 'before-wire-rules');
const BEFORE_WIRE_RULES_SCENARIOS = ['transport-headers-delivered', 'header-with-crlf-dead-lettered'];
/**
 * Recorded since events are published after commit and a discard has its own state (the
 * `herald-committed-events-v2` patch): every scenario again, and runs whose workflow tasks failed.
 * The top-level histories above are from before it and stay as they are.
 */
const COMMITTED_EVENTS_SCENARIOS = [
  ...SCENARIOS,
  'parked-workflow-cancelled-discarded',
  'failed-task-at-decision-replied',
  'failed-task-after-decision-replied',
];
const COMMITTED_EVENTS_DIR = join(HISTORIES_DIR, 'committed-events');
/** Runs of the `heraldMessage` type, which has no patches (see workflows/deliver-message.ts): every scenario again. */
const HERALD_MESSAGE_DIR = join(HISTORIES_DIR, 'herald-message');

const jsonFiles = (dir: string) => readdirSync(dir).filter((file) => file.endsWith('.json'));
const files = [
  ...jsonFiles(HISTORIES_DIR).map((file) => join(HISTORIES_DIR, file)),
  ...jsonFiles(BEFORE_EVENTS_DIR).map((file) => join(BEFORE_EVENTS_DIR, file)),
  ...jsonFiles(BEFORE_WIRE_RULES_DIR).map((file) => join(BEFORE_WIRE_RULES_DIR, file)),
  ...jsonFiles(COMMITTED_EVENTS_DIR).map((file) => join(COMMITTED_EVENTS_DIR, file)),
  ...jsonFiles(HERALD_MESSAGE_DIR).map((file) => join(HERALD_MESSAGE_DIR, file)),
];

// Replay workers log their start and stop at info; only problems matter here.
beforeAll(() => installRuntimeLogger(createLogger('warn')));

test('every scenario has a recorded history, from before and after the events patch', () => {
  expect(
    jsonFiles(HISTORIES_DIR)
      .map((file) => basename(file, '.json'))
      .sort(),
  ).toEqual([...SCENARIOS].sort());
  expect(
    jsonFiles(BEFORE_EVENTS_DIR)
      .map((file) => basename(file, '.json'))
      .sort(),
  ).toEqual([...MESSAGE_SCENARIOS].sort());
  expect(
    jsonFiles(BEFORE_WIRE_RULES_DIR)
      .map((file) => basename(file, '.json'))
      .sort(),
  ).toEqual([...BEFORE_WIRE_RULES_SCENARIOS].sort());
});

/** The parts of a history's JSON form read here (payload data is base64, as Temporal writes it). */
interface HistoryJson {
  events?: {
    workflowExecutionStartedEventAttributes?: { input?: { payloads?: { data?: string }[] } };
  }[];
}

/** Recorded by test/workflows/continue-as-new.test.ts: a run that continued as new, and the one after it. */
const CONTINUED_SCENARIOS = ['continued-as-new-first-run', 'continued-as-new-last-run'];

test('every scenario has a recorded history since the committed-events patch', () => {
  expect(
    jsonFiles(COMMITTED_EVENTS_DIR)
      .map((file) => basename(file, '.json'))
      .sort(),
  ).toEqual([...COMMITTED_EVENTS_SCENARIOS].sort());
  expect(
    jsonFiles(HERALD_MESSAGE_DIR)
      .map((file) => basename(file, '.json'))
      .sort(),
  ).toEqual([...COMMITTED_EVENTS_SCENARIOS, ...CONTINUED_SCENARIOS].sort());
});

/** The patch markers a history's workflow task commands recorded (read from its JSON form: base64 data). */
function patchesOf(file: string): string[] {
  const history = JSON.parse(readFileSync(file, 'utf8')) as {
    events?: {
      markerRecordedEventAttributes?: {
        markerName?: string;
        details?: Record<string, { payloads?: { data?: string }[] }>;
      };
    }[];
  };
  return (history.events ?? []).flatMap((event) => {
    const attributes = event.markerRecordedEventAttributes;
    if (attributes?.markerName !== 'core_patch') return [];
    const data = attributes.details?.['patch-data']?.payloads?.[0]?.data ?? '';
    return [(JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as { id: string }).id];
  });
}

test('each directory holds runs of its own time: the old ones stay from before the patches that followed', () => {
  const messageHistories = (dir: string) =>
    jsonFiles(dir)
      .filter((file) => file !== 'callback-dead-lettered.json')
      .map((file) => join(dir, file));
  for (const file of messageHistories(BEFORE_EVENTS_DIR)) expect([file, patchesOf(file)]).toEqual([file, []]);
  for (const file of messageHistories(HISTORIES_DIR)) {
    expect([file, patchesOf(file)]).toEqual([file, ['herald-events-and-callbacks-v1']]);
  }
  for (const file of messageHistories(COMMITTED_EVENTS_DIR)) {
    expect([file, patchesOf(file)]).toEqual([file, ['herald-events-and-callbacks-v1', 'herald-committed-events-v2']]);
  }
  for (const file of messageHistories(HERALD_MESSAGE_DIR)) {
    // Only a run that continued as new asked for that patch (on its rare path: other runs carry no marker).
    const patches = file.endsWith('continued-as-new-first-run.json') ? ['herald-continue-as-new-v1'] : [];
    expect([file, workflowTypeOf(file), patchesOf(file)]).toEqual([file, 'heraldMessage', patches]);
  }
});

/** The workflow type a history ran. */
function workflowTypeOf(file: string): string | undefined {
  const history = JSON.parse(readFileSync(file, 'utf8')) as {
    events?: { workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string } } }[];
  };
  return history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
}

/**
 * The workflow id, which the workflow checks against the message id. A history does not carry it, so
 * it is read from the recorded input (message id = workflow id for every recorded scenario).
 */
function workflowIdOf(history: HistoryJson): string {
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  const input = JSON.parse(Buffer.from(payload?.data ?? '', 'base64').toString('utf8')) as {
    id?: string;
    callbackId?: string;
  };
  // deliverMessage runs as the message id, deliverCallback as the callback id.
  const id = input.id ?? input.callbackId;
  if (typeof id !== 'string') throw new Error('recorded input has no message or callback id');
  return id;
}

test.each(files.map((file) => [file.slice(HISTORIES_DIR.length + 1), file]))(
  '%s replays against the current workflow code',
  async (_name, file) => {
    // The worker takes a history in its JSON form as it is (it converts it itself).
    const history = JSON.parse(readFileSync(file, 'utf8')) as HistoryJson;
    expect(history.events?.length).toBeGreaterThan(3);
    await Worker.runReplayHistory(
      { workflowBundle: { codePath: process.env.HERALD_TEST_WORKFLOW_BUNDLE! }, replayName: file },
      history,
      workflowIdOf(history),
    );
  },
);

describe('with tracing on (the OpenTelemetry workflow interceptors in the bundle)', () => {
  // Histories recorded without the interceptors must replay on a worker that has them (tracing turned on
  // with messages in flight), and the other way round: they add no command.
  let tracedCode: string;
  const spans = new InMemorySpanExporter();
  const quiet = () => undefined;
  beforeAll(async () => {
    const bundle = await bundleHeraldWorkflows(
      { log: quiet, trace: quiet, debug: quiet, info: quiet, warn: console.warn, error: console.error },
      { workflowInterceptorModules: [...TRACING_WORKFLOW_INTERCEPTOR_MODULES] },
    );
    tracedCode = bundle.code;
  }, 120_000);

  test.each(files.map((file) => [file.slice(HISTORIES_DIR.length + 1), file]))('%s replays', async (_name, file) => {
    const history = JSON.parse(readFileSync(file, 'utf8')) as HistoryJson;
    await Worker.runReplayHistory(
      {
        workflowBundle: { code: tracedCode },
        replayName: `${file} (traced)`,
        // As a traced worker has it; a replay calls no sink, so nothing is exported twice.
        sinks: { exporter: makeWorkflowExporter(new SimpleSpanProcessor(spans), Resource.default()) },
      },
      history,
      workflowIdOf(history),
    );
    expect(spans.getFinishedSpans()).toEqual([]);
  });
});

describe('with encryption on (a worker given HERALD_ENCRYPTION_KEYS)', () => {
  // Histories recorded before encryption hold plaintext payloads: a worker with the codec must replay
  // them as they ran (the codec passes a payload through when it is not encrypted), so that switching
  // encryption on with messages in flight breaks none of them.
  const parsed = parseKeyring(`replay:${Buffer.alloc(32, 5).toString('base64')}`);
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  const dataConverter = heraldDataConverter(parsed.keyring);

  test.each(files.map((file) => [file.slice(HISTORIES_DIR.length + 1), file]))(
    '%s replays with the codec',
    async (_name, file) => {
      const history = JSON.parse(readFileSync(file, 'utf8')) as HistoryJson;
      await Worker.runReplayHistory(
        {
          workflowBundle: { codePath: process.env.HERALD_TEST_WORKFLOW_BUNDLE! },
          replayName: `${file} (encrypted)`,
          dataConverter,
        },
        history,
        workflowIdOf(history),
      );
    },
  );
});
