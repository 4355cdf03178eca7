/**
 * What a chaos run found, computed from what every party saw: the sender's submissions, the downstream's
 * requests, the replier's answers, each message's status, its history, the event log and the
 * dead-letter store. Pure: chaos/run.ts gathers the facts, this judges them (and is unit-tested).
 */
import { TERMINAL_STATES } from '../src/contract/message-status';
import type { DownstreamRequest } from './downstream';
import type { ProcessEvent } from './processes';
import type { ReplyAnswer } from './replier';

export interface MessageFacts {
  id: string;
  expectsReply: boolean;
  /** The state the status endpoint reports after the run (undefined: it could not be read). */
  state?: string;
  deadLetterReason?: string;
  deadLetterRound?: number;
  /** The reply body the message recorded, as JSON. */
  recordedReply?: string;
  /** HeraldState as Temporal visibility reports it. */
  visibilityState?: string;
  /** States in the event log for the message's run, oldest first. */
  eventStates: string[];
  /** States the workflow entered, from its history (HeraldState upserts), oldest first. */
  historyStates: string[];
}

export interface DeadLetterRow {
  id: string;
  round: number;
  state: string;
  reason: string;
}

export interface ChaosFacts {
  messages: MessageFacts[];
  submitStatuses: number[];
  statusReadStatuses: number[];
  deadLetters: DeadLetterRow[];
  downstream: DownstreamRequest[];
  replies: ReplyAnswer[];
  repliesSent: Map<string, { body: string; firstAt: number }>;
  replyTimeoutMs: number;
  processes: ProcessEvent[];
}

export interface Finding {
  id: string;
  what: string;
}

export interface ChaosReport {
  accepted: number;
  byState: Record<string, number>;
  lost: Finding[];
  misStated: Finding[];
  eventLogDisagreements: Finding[];
  duplicateDeliveries: { total: number; afterWorkerKill: number; afterTemporalRestart: number; unexplained: Finding[] };
  /** Processes that ended without being asked to. */
  crashes: ProcessEvent[];
  duplicateDeadLetters: Finding[];
  replyAnswers: Record<string, number>;
  repliersRefusedForRecordedReply: Finding[];
  replyLatencyP95Ms: number;
  serverErrors: { submit: number; reply: number; status: number };
  attemptsCutByGracefulRestart: number;
  attemptsCutByKill: number;
}

const ENDED = new Set<string>(TERMINAL_STATES);
/** A cut is blamed on a process exit this close to it. */
const CUT_WINDOW_MS = 2_000;

/** Consecutive repeats collapse: an upsert of the state a message is already in is no transition. */
function transitions(states: string[]): string[] {
  return states.filter((state, i) => i === 0 || state !== states[i - 1]);
}

export function judgeChaosRun(facts: ChaosFacts): ChaosReport {
  const byState: Record<string, number> = {};
  const lost: Finding[] = [];
  const misStated: Finding[] = [];
  const eventLogDisagreements: Finding[] = [];
  const answered = new Map<string, number>();
  for (const request of facts.downstream) {
    if (request.planned === 'ok' && request.answeredAt !== undefined)
      answered.set(request.messageId, (answered.get(request.messageId) ?? 0) + 1);
  }
  const deadLetterById = new Map(facts.deadLetters.map((row) => [row.id, row]));

  for (const message of facts.messages) {
    const state = message.state ?? 'unknown';
    byState[state] = (byState[state] ?? 0) + 1;
    if (!ENDED.has(state)) {
      lost.push({ id: message.id, what: `still ${state} after the drain` });
      continue;
    }
    const record = deadLetterById.get(message.id);
    if ((state === 'delivered' || state === 'replied') && !answered.has(message.id))
      misStated.push({ id: message.id, what: `${state}, but the downstream never answered it with a 2xx` });
    if (state === 'replied' && message.recordedReply !== undefined) {
      const sent = facts.repliesSent.get(message.id);
      if (!sent || JSON.stringify(JSON.parse(sent.body).body) !== message.recordedReply)
        misStated.push({ id: message.id, what: 'replied with a body the replier never sent' });
    }
    if (state === 'dead_lettered') {
      if (!record || record.state !== 'dead_lettered')
        misStated.push({ id: message.id, what: 'dead_lettered, but the store has no waiting record' });
      else if (record.round !== message.deadLetterRound || record.reason !== message.deadLetterReason)
        misStated.push({
          id: message.id,
          what: `dead letter round/reason ${record.round}/${record.reason} in the store`,
        });
      const sent = facts.repliesSent.get(message.id);
      const handedOver = facts.replies.some((a) => a.messageId === message.id && a.status >= 200 && a.status < 300);
      if (message.deadLetterReason === 'reply_timeout' && sent && handedOver)
        misStated.push({ id: message.id, what: 'reply_timeout, though its reply was answered with a 2xx' });
    } else if (record && record.state === 'dead_lettered') {
      misStated.push({ id: message.id, what: `${state}, but the store holds a waiting dead letter` });
    }
    if (
      message.visibilityState !== undefined &&
      message.visibilityState !== state &&
      ENDED.has(message.visibilityState)
    )
      misStated.push({ id: message.id, what: `visibility says ${message.visibilityState}, status ${state}` });
    if (message.visibilityState !== undefined && !ENDED.has(message.visibilityState) && state !== 'terminated')
      misStated.push({ id: message.id, what: `visibility says ${message.visibilityState}, status ${state}` });

    const events = transitions(message.eventStates);
    const history = transitions(message.historyStates);
    if (events[events.length - 1] !== state)
      eventLogDisagreements.push({
        id: message.id,
        what: `event log ends on ${events.at(-1) ?? 'nothing'}, status ${state}`,
      });
    else if (history.length > 0 && events.join(' → ') !== history.join(' → '))
      eventLogDisagreements.push({
        id: message.id,
        what: `events ${events.join(' → ')}; history ${history.join(' → ')}`,
      });
  }

  // A second 2xx for one message: blamed on a worker killed after the first one, before it was recorded.
  const workerKills = facts.processes.filter((e) => e.kind === 'sigkill' && e.process.startsWith('worker'));
  // A Temporal restart can lose an activity's completion: the attempt times out and runs again.
  const temporalRestarts = facts.processes.filter(
    (e) => (e.kind === 'sigkill' || e.kind === 'sigterm') && e.process === 'temporal',
  );
  const unexplained: Finding[] = [];
  let total = 0;
  let afterWorkerKill = 0;
  let afterTemporalRestart = 0;
  const okByMessage = new Map<string, DownstreamRequest[]>();
  for (const request of facts.downstream)
    if (request.planned === 'ok' && request.answeredAt !== undefined)
      okByMessage.set(request.messageId, [...(okByMessage.get(request.messageId) ?? []), request]);
  for (const [id, oks] of okByMessage) {
    for (let i = 1; i < oks.length; i++) {
      total += 1;
      const first = oks[i - 1]!;
      const again = oks[i]!;
      const between = (e: ProcessEvent) => e.at >= first.arrivedAt - 100 && e.at <= again.arrivedAt;
      if (workerKills.some(between)) afterWorkerKill += 1;
      else if (temporalRestarts.some(between)) afterTemporalRestart += 1;
      else unexplained.push({ id, what: `delivered again ${again.arrivedAt - first.answeredAt!} ms after a 2xx` });
    }
  }

  const rounds = new Map<string, number>();
  for (const row of facts.deadLetters)
    rounds.set(`${row.id}#${row.round}`, (rounds.get(`${row.id}#${row.round}`) ?? 0) + 1);
  const duplicateDeadLetters = [...rounds]
    .filter(([, n]) => n > 1)
    .map(([key, n]) => ({ id: key, what: `${n} records` }));

  const replyAnswers: Record<string, number> = {};
  for (const answer of facts.replies) {
    const key = answer.status === 0 ? 'unreachable' : String(answer.status);
    replyAnswers[key] = (replyAnswers[key] ?? 0) + 1;
  }
  const recorded = new Map(facts.messages.map((m) => [m.id, m.recordedReply]));
  const repliersRefusedForRecordedReply = facts.replies
    .filter((answer) => answer.status === 409)
    .filter((answer) => {
      const sent = facts.repliesSent.get(answer.messageId);
      return sent !== undefined && recorded.get(answer.messageId) === JSON.stringify(JSON.parse(sent.body).body);
    })
    .map((answer) => ({
      id: answer.messageId,
      what: `409 for the reply it recorded${answer.resend ? ' (resend)' : ''}`,
    }));

  const exits = facts.processes.filter((e) => e.kind === 'exit' && e.process.startsWith('worker'));
  const signalBefore = (exit: ProcessEvent) =>
    facts.processes
      .filter((e) => e.process === exit.process && (e.kind === 'sigterm' || e.kind === 'sigkill') && e.at <= exit.at)
      .at(-1);
  let attemptsCutByGracefulRestart = 0;
  let attemptsCutByKill = 0;
  for (const request of facts.downstream) {
    if (request.cutAt === undefined || request.planned === 'hang') continue;
    const exit = exits.find((e) => Math.abs(e.at - request.cutAt!) <= CUT_WINDOW_MS);
    const signal = exit && signalBefore(exit);
    if (signal?.kind === 'sigterm') attemptsCutByGracefulRestart += 1;
    else if (signal?.kind === 'sigkill') attemptsCutByKill += 1;
  }

  const latencies = facts.replies
    .filter((a) => a.status !== 0)
    .map((a) => a.latencyMs)
    .sort((a, b) => a - b);
  const count5xx = (statuses: number[]) => statuses.filter((s) => s >= 500).length;
  return {
    accepted: facts.messages.length,
    byState,
    lost,
    misStated,
    eventLogDisagreements,
    duplicateDeliveries: { total, afterWorkerKill, afterTemporalRestart, unexplained },
    crashes: facts.processes.filter((e) => e.kind === 'crash'),
    duplicateDeadLetters,
    replyAnswers,
    repliersRefusedForRecordedReply,
    replyLatencyP95Ms: latencies.length
      ? latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.95))]!
      : 0,
    serverErrors: {
      submit: count5xx(facts.submitStatuses),
      reply: count5xx(facts.replies.map((a) => a.status)),
      status: count5xx(facts.statusReadStatuses),
    },
    attemptsCutByGracefulRestart,
    attemptsCutByKill,
  };
}

/** The report as the table `npm run chaos` prints. */
export function formatChaosReport(report: ChaosReport): string {
  const rows: [string, string | number][] = [
    ['accepted messages', report.accepted],
    [
      'final states',
      Object.entries(report.byState)
        .map(([s, n]) => `${s} ${n}`)
        .join(', '),
    ],
    ['lost', report.lost.length],
    ['mis-stated', report.misStated.length],
    ['event-log disagreements', report.eventLogDisagreements.length],
    [
      'duplicate deliveries',
      `${report.duplicateDeliveries.total} (after a worker kill -9: ${report.duplicateDeliveries.afterWorkerKill}, after a Temporal restart: ${report.duplicateDeliveries.afterTemporalRestart}, unexplained: ${report.duplicateDeliveries.unexplained.length})`,
    ],
    ['duplicate dead letters', report.duplicateDeadLetters.length],
    [
      'reply answers',
      Object.entries(report.replyAnswers)
        .map(([s, n]) => `${s}: ${n}`)
        .join(', '),
    ],
    ['repliers refused for the recorded reply', report.repliersRefusedForRecordedReply.length],
    ['reply answer p95', `${report.replyLatencyP95Ms} ms`],
    [
      '5xx answers (submit / reply / status)',
      `${report.serverErrors.submit} / ${report.serverErrors.reply} / ${report.serverErrors.status}`,
    ],
    ['attempts cut by a graceful restart', report.attemptsCutByGracefulRestart],
    ['attempts cut by kill -9', report.attemptsCutByKill],
    ['processes that ended by themselves', report.crashes.map((e) => `${e.process} (${e.code})`).join(', ') || 0],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`);
  const examples = [
    ...report.lost.slice(0, 5).map((f) => `  lost ${f.id}: ${f.what}`),
    ...report.misStated.slice(0, 5).map((f) => `  mis-stated ${f.id}: ${f.what}`),
    ...report.eventLogDisagreements.slice(0, 5).map((f) => `  events ${f.id}: ${f.what}`),
    ...report.duplicateDeliveries.unexplained.slice(0, 5).map((f) => `  duplicate ${f.id}: ${f.what}`),
    ...report.repliersRefusedForRecordedReply.slice(0, 5).map((f) => `  reply ${f.id}: ${f.what}`),
  ];
  return ['Chaos report', ...lines, ...(examples.length ? ['Examples:', ...examples] : [])].join('\n');
}
