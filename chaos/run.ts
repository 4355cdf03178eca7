/**
 * `npm run chaos`: Herald under faults, as a demanding operator would try it. Real processes on
 * 127.0.0.1 only: a Temporal dev server on a file, two workers, one API, a downstream that fails 30% of
 * requests and hangs on 3%, a replier for the 20% of messages that expect a reply. While messages flow,
 * workers are killed with kill -9 and restarted gracefully with SIGTERM, Temporal is restarted three
 * times (once with kill -9) and the API is killed once. Then every message is judged (chaos/report.ts).
 *
 * Bounded: CHAOS_MESSAGES (default 1500) at CHAOS_RATE per second (default 10), a drain of at most
 * CHAOS_DRAIN_SECONDS (default 300); it stops everything it started, also on failure or Ctrl-C.
 */
import { TERMINAL_STATES } from '../src/contract/message-status';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { newMessageId } from '../src/contract/ids';
import { HERALD_STATE } from '../src/contract/search-attributes';
import { findTemporalCli } from '../src/temporal/temporal-cli';
import { startChaosDownstream } from './downstream';
import { heraldProcess, temporalProcess, type ManagedProcess, type ProcessEvent } from './processes';
import { Replier } from './replier';
import { formatChaosReport, judgeChaosRun, type DeadLetterRow, type MessageFacts } from './report';
import { freePort } from '../scripts/free-port';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const MESSAGES = env('CHAOS_MESSAGES', 1500);
const RATE = env('CHAOS_RATE', 10);
const DRAIN_SECONDS = env('CHAOS_DRAIN_SECONDS', 300);
const REPLY_TIMEOUT_MS = 30_000;
const TASK_QUEUE = 'chaos';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A deterministic random stream, so two runs with one seed inject the same faults. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(500);
  }
  throw new Error(`${what} did not happen within ${timeoutMs / 1000}s`);
}

async function main(): Promise<void> {
  const root = join(__dirname, '..');
  const runDir = join(root, 'chaos', 'results', new Date().toISOString().replace(/[:.]/g, '-'));
  const dataDir = join(runDir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const random = seededRandom(env('CHAOS_SEED', 42));
  const apiKey = `hk_${randomBytes(16).toString('hex')}`;
  const replySecret = `whsec_${randomBytes(24).toString('base64')}`;
  const temporalPort = await freePort();
  const apiPort = await freePort();
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const processEvents: ProcessEvent[] = [];
  const started: ManagedProcess[] = [];
  const cli = findTemporalCli({ log: (line) => console.log(line) });

  const temporal = temporalProcess(cli.path, temporalPort, join(dataDir, 'temporal.sqlite'), runDir, processEvents);
  const heraldEnv: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
    TEMPORAL_NAMESPACE: 'default',
    HERALD_TASK_QUEUE: TASK_QUEUE,
    HERALD_DATA_DIR: dataDir,
    HERALD_API_KEYS: `chaos:${apiKey}`,
    HERALD_API_PORT: String(apiPort),
    HERALD_REPLY_SECRETS: JSON.stringify({ '*': replySecret }),
    HERALD_DESTINATION_ALLOWLIST: '127.0.0.1',
    HERALD_WORKER_SHUTDOWN_GRACE: process.env.HERALD_WORKER_SHUTDOWN_GRACE ?? '20s',
    LOG_LEVEL: 'warn',
  };
  const workers = [1, 2].map((n) => heraldProcess(`worker-${n}`, 'src/worker.ts', heraldEnv, runDir, processEvents));
  const api = heraldProcess('api', 'src/api-server.ts', heraldEnv, runDir, processEvents);
  started.push(temporal, ...workers, api);
  const stopAll = async () => {
    await Promise.all(started.map((p) => p.stop('sigterm', 15_000).catch(() => undefined)));
    started.forEach((p) => p.close());
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));

  const replier = new Replier({
    apiUrl: () => apiUrl,
    apiKey,
    secret: replySecret,
    delayMs: () => 200 + random() * 1_300,
    resendRatio: 0.3,
    random,
    patienceMs: 60_000,
  });
  const downstream = await startChaosDownstream({
    failRatio: 0.3,
    hangRatio: 0.03,
    hangMs: 5_000,
    random,
    onDelivered: (id) => replier.replyTo(id),
  });
  let connection: Connection | undefined;
  try {
    temporal.start();
    await waitFor(
      'Temporal',
      async () => {
        const c = await Connection.connect({ address: `127.0.0.1:${temporalPort}`, connectTimeout: 1_000 });
        await c.close();
        return true;
      },
      60_000,
    );
    workers.forEach((w) => w.start());
    api.start();
    await waitFor('the API', async () => (await request(`${apiUrl}/readyz`)).statusCode === 200, 120_000);
    console.log(`[chaos] ${MESSAGES} messages at ${RATE}/s; logs and results in ${runDir}`);

    const accepted = new Map<string, boolean>();
    const submitStatuses: number[] = [];
    const sendPhaseMs = (MESSAGES / RATE) * 1_000;
    const submissions: Promise<void>[] = [];
    const sendStarted = Date.now();
    let faultsDone = false;
    const faults = runFaults({ temporal, workers, api, apiUrl, sendPhaseMs, stop: () => faultsDone });
    for (let i = 0; i < MESSAGES; i++) {
      const due = sendStarted + (i * 1_000) / RATE;
      if (due > Date.now()) await sleep(due - Date.now());
      const expectsReply = random() < 0.2;
      submissions.push(submit(apiUrl, apiKey, downstream.port, expectsReply, submitStatuses, accepted));
    }
    await Promise.all(submissions);
    faultsDone = true;
    await faults;
    console.log(`[chaos] sent; ${accepted.size} accepted; draining…`);

    const statusReadStatuses: number[] = [];
    const statuses = new Map<string, Record<string, unknown>>();
    const drainDeadline = Date.now() + DRAIN_SECONDS * 1_000;
    const ended = new Set<string>(TERMINAL_STATES);
    for (;;) {
      const open = [...accepted.keys()].filter((id) => !ended.has(String(statuses.get(id)?.state)));
      if (open.length === 0 || Date.now() > drainDeadline) break;
      for (const id of open) {
        const response = await request(`${apiUrl}/v1/messages/${id}`, {
          headers: { authorization: `Bearer ${apiKey}` },
        }).catch(() => undefined);
        if (!response) continue;
        statusReadStatuses.push(response.statusCode);
        const body = (await response.body.json().catch(() => ({}))) as Record<string, unknown>;
        if (response.statusCode === 200) statuses.set(id, body);
      }
      await sleep(2_000);
    }
    await replier.settle();
    // The last reads: replies may have moved messages on while the replier settled.
    for (const id of accepted.keys()) {
      const response = await request(`${apiUrl}/v1/messages/${id}`, { headers: { authorization: `Bearer ${apiKey}` } });
      statusReadStatuses.push(response.statusCode);
      const body = (await response.body.json().catch(() => ({}))) as Record<string, unknown>;
      if (response.statusCode === 200) statuses.set(id, body);
    }

    connection = await Connection.connect({ address: `127.0.0.1:${temporalPort}` });
    const client = new Client({ connection, namespace: 'default' });
    const db = new Database(join(dataDir, 'dead-letters.sqlite'), { readonly: true });
    const eventRows = db.prepare('SELECT message_id, run_id, state FROM message_events ORDER BY id').all() as {
      message_id: string;
      run_id: string;
      state: string;
    }[];
    const deadLetters = db
      .prepare("SELECT id, round, state, reason FROM dead_letters WHERE kind = 'message'")
      .all() as DeadLetterRow[];
    db.close();

    const messages: MessageFacts[] = [];
    for (const [id, expectsReply] of accepted) {
      const status = statuses.get(id) ?? {};
      const handle = client.workflow.getHandle(id);
      const description = await handle.describe().catch(() => undefined);
      const runId = description?.runId;
      const history = await handle.fetchHistory().catch(() => undefined);
      const historyStates: string[] = [];
      for (const event of history?.events ?? []) {
        const fields =
          event.workflowExecutionStartedEventAttributes?.searchAttributes?.indexedFields ??
          event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields;
        const payload = fields?.[HERALD_STATE.name];
        if (payload) historyStates.push(String(defaultPayloadConverter.fromPayload(payload)));
      }
      const deadLetter = status.deadLetter as { reason?: string; round?: number } | null | undefined;
      const reply = status.reply as { body?: unknown } | null | undefined;
      messages.push({
        id,
        expectsReply,
        state: status.state as string | undefined,
        deadLetterReason: deadLetter?.reason,
        deadLetterRound: deadLetter?.round,
        recordedReply: reply ? JSON.stringify(reply.body) : undefined,
        visibilityState: description?.typedSearchAttributes.get(HERALD_STATE) as string | undefined,
        eventStates: eventRows.filter((row) => row.message_id === id && row.run_id === runId).map((row) => row.state),
        historyStates,
      });
    }
    const report = judgeChaosRun({
      messages,
      submitStatuses,
      statusReadStatuses,
      deadLetters,
      downstream: downstream.requests,
      replies: replier.answers,
      repliesSent: replier.sent,
      replyTimeoutMs: REPLY_TIMEOUT_MS,
      processes: processEvents,
    });
    console.log(formatChaosReport(report));
    const file = join(runDir, 'report.json');
    writeFileSync(file, JSON.stringify({ scenario: { MESSAGES, RATE }, report, processes: processEvents }, null, 2));
    console.log(`[chaos] report written to ${file}`);
  } finally {
    await connection?.close();
    await downstream.close();
    await stopAll();
  }
}

/** Submits one message, resending (same id) while the API is unreachable or answers 5xx. */
async function submit(
  apiUrl: string,
  apiKey: string,
  downstreamPort: number,
  expectsReply: boolean,
  statuses: number[],
  accepted: Map<string, boolean>,
): Promise<void> {
  const id = newMessageId();
  const body = JSON.stringify({
    id,
    destination: { url: `http://127.0.0.1:${downstreamPort}/hook?reply=${expectsReply ? 1 : 0}` },
    body: { id },
    retry: {
      initialInterval: '200ms',
      maximumInterval: '2s',
      maximumAttempts: 6,
      attemptTimeout: '2s',
      deadline: '2m',
    },
    ...(expectsReply ? { reply: { timeout: `${REPLY_TIMEOUT_MS}ms` } } : {}),
  });
  const giveUpAt = Date.now() + 120_000;
  while (Date.now() < giveUpAt) {
    const response = await request(`${apiUrl}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body,
      headersTimeout: 15_000,
    }).catch(() => undefined);
    if (response) {
      statuses.push(response.statusCode);
      await response.body.dump();
      if (response.statusCode < 300) {
        accepted.set(id, expectsReply);
        return;
      }
      if (response.statusCode < 500 && response.statusCode !== 429) return;
    }
    await sleep(1_000);
  }
}

/** The fault schedule: worker kills every 10 s, graceful worker restarts, Temporal and API restarts. */
async function runFaults(options: {
  temporal: ManagedProcess;
  workers: ManagedProcess[];
  api: ManagedProcess;
  apiUrl: string;
  sendPhaseMs: number;
  stop: () => boolean;
}): Promise<void> {
  const started = Date.now();
  const at = (share: number) => started + options.sendPhaseMs * share;
  const temporalRestarts: { at: number; kind: 'sigterm' | 'sigkill' }[] = [
    { at: at(0.25), kind: 'sigterm' },
    { at: at(0.5), kind: 'sigkill' },
    { at: at(0.75), kind: 'sigterm' },
  ];
  let apiKilled = false;
  let tick = 0;
  while (!options.stop() || tick < 3) {
    await sleep(10_000);
    tick += 1;
    const worker = options.workers[tick % options.workers.length]!;
    // Every third tick is a graceful restart (SIGTERM: the worker drains), the others kill -9.
    await worker.restart(tick % 3 === 0 ? 'sigterm' : 'sigkill');
    const due = temporalRestarts.find((r) => r.at <= Date.now());
    if (due) {
      temporalRestarts.splice(temporalRestarts.indexOf(due), 1);
      await options.temporal.restart(due.kind);
    }
    if (!apiKilled && Date.now() >= at(0.6)) {
      apiKilled = true;
      await options.api.restart('sigkill');
    }
  }
}

main().catch((error: unknown) => {
  console.error(`[chaos] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
