/** The chaos report's judgement, on facts made by hand: each kind of finding is found, and only then. */
import type { DownstreamRequest } from '../../chaos/downstream';
import { judgeChaosRun, type ChaosFacts, type MessageFacts } from '../../chaos/report';

const message = (id: string, state: string, extra: Partial<MessageFacts> = {}): MessageFacts => ({
  id,
  expectsReply: false,
  state,
  visibilityState: state,
  eventStates: ['accepted', 'delivering', state],
  historyStates: ['accepted', 'delivering', state],
  ...extra,
});
const ok = (messageId: string, arrivedAt: number): DownstreamRequest => ({
  messageId,
  arrivedAt,
  planned: 'ok',
  answeredAt: arrivedAt + 5,
});

function facts(overrides: Partial<ChaosFacts>): ChaosFacts {
  return {
    messages: [],
    submitStatuses: [202],
    statusReadStatuses: [200],
    deadLetters: [],
    downstream: [],
    replies: [],
    repliesSent: new Map(),
    replyTimeoutMs: 30_000,
    processes: [],
    ...overrides,
  };
}

describe('judgeChaosRun', () => {
  it('finds nothing wrong in a clean run', () => {
    const report = judgeChaosRun(
      facts({
        messages: [
          message('a', 'delivered'),
          message('b', 'dead_lettered', { deadLetterReason: 'max_attempts_exhausted', deadLetterRound: 1 }),
        ],
        downstream: [ok('a', 1_000)],
        deadLetters: [{ id: 'b', round: 1, state: 'dead_lettered', reason: 'max_attempts_exhausted' }],
      }),
    );
    expect(report.lost).toEqual([]);
    expect(report.misStated).toEqual([]);
    expect(report.eventLogDisagreements).toEqual([]);
    expect(report.duplicateDeliveries.total).toBe(0);
    expect(report.byState).toEqual({ delivered: 1, dead_lettered: 1 });
  });

  it('counts a message that never ended as lost, and a delivered one the downstream never acknowledged as mis-stated', () => {
    const report = judgeChaosRun(facts({ messages: [message('a', 'delivering'), message('b', 'delivered')] }));
    expect(report.lost.map((f) => f.id)).toEqual(['a']);
    expect(report.misStated.map((f) => f.id)).toEqual(['b']);
  });

  it('finds an event log that ends on a state the message does not report, or differs from its history', () => {
    const report = judgeChaosRun(
      facts({
        messages: [
          message('a', 'dead_lettered', {
            eventStates: ['accepted', 'delivering', 'awaiting_reply'],
            deadLetterReason: 'reply_timeout',
            deadLetterRound: 1,
          }),
          message('b', 'replied', {
            eventStates: ['accepted', 'delivering', 'replied'],
            historyStates: ['accepted', 'delivering', 'awaiting_reply', 'replied'],
          }),
        ],
        downstream: [ok('b', 1)],
        deadLetters: [{ id: 'a', round: 1, state: 'dead_lettered', reason: 'reply_timeout' }],
      }),
    );
    expect(report.eventLogDisagreements.map((f) => f.id)).toEqual(['a', 'b']);
  });

  it('blames a second delivery on a worker kill between the two, and reports the others', () => {
    const report = judgeChaosRun(
      facts({
        messages: [message('a', 'delivered'), message('b', 'delivered'), message('c', 'delivered')],
        downstream: [
          ok('a', 1_000),
          ok('a', 3_000),
          ok('b', 10_000),
          ok('b', 12_000),
          ok('c', 20_000),
          ok('c', 22_000),
        ],
        processes: [
          { at: 1_500, process: 'worker-1', kind: 'sigkill' },
          { at: 20_500, process: 'temporal', kind: 'sigterm' },
        ],
      }),
    );
    expect(report.duplicateDeliveries).toMatchObject({ total: 3, afterWorkerKill: 1, afterTemporalRestart: 1 });
    expect(report.duplicateDeliveries.unexplained.map((f) => f.id)).toEqual(['b']);
  });

  it('counts a 409 for the reply the message recorded, and a reply timeout after a 2xx handover', () => {
    const body = JSON.stringify({ body: { nonce: 'n1' }, status: 200 });
    const report = judgeChaosRun(
      facts({
        messages: [
          message('a', 'replied', { expectsReply: true, recordedReply: JSON.stringify({ nonce: 'n1' }) }),
          message('b', 'dead_lettered', { expectsReply: true, deadLetterReason: 'reply_timeout', deadLetterRound: 1 }),
        ],
        downstream: [ok('a', 1), ok('b', 1)],
        deadLetters: [{ id: 'b', round: 1, state: 'dead_lettered', reason: 'reply_timeout' }],
        repliesSent: new Map([
          ['a', { body, firstAt: 10 }],
          ['b', { body, firstAt: 10 }],
        ]),
        replies: [
          { messageId: 'a', status: 200, at: 10, latencyMs: 20, resend: false },
          { messageId: 'a', status: 409, at: 40, latencyMs: 20, resend: true },
          { messageId: 'b', status: 202, at: 10, latencyMs: 20, resend: false },
        ],
      }),
    );
    expect(report.repliersRefusedForRecordedReply.map((f) => f.id)).toEqual(['a']);
    expect(report.misStated.map((f) => f.id)).toEqual(['b']);
    expect(report.replyAnswers).toEqual({ '200': 1, '409': 1, '202': 1 });
  });

  it('attributes a cut request to the graceful or the forced exit of the worker next to it', () => {
    const cut = (cutAt: number): DownstreamRequest => ({
      messageId: 'x',
      arrivedAt: cutAt - 500,
      planned: 'ok',
      cutAt,
    });
    const report = judgeChaosRun(
      facts({
        downstream: [cut(10_100), cut(20_050), { ...cut(30_000), planned: 'hang' }],
        processes: [
          { at: 10_000, process: 'worker-1', kind: 'sigterm' },
          { at: 10_090, process: 'worker-1', kind: 'exit' },
          { at: 20_000, process: 'worker-2', kind: 'sigkill' },
          { at: 20_010, process: 'worker-2', kind: 'exit' },
          { at: 30_000, process: 'worker-1', kind: 'sigkill' },
          { at: 30_001, process: 'worker-1', kind: 'exit' },
        ],
      }),
    );
    expect(report.attemptsCutByGracefulRestart).toBe(1);
    expect(report.attemptsCutByKill).toBe(1);
  });

  it('counts 5xx answers per endpoint', () => {
    const report = judgeChaosRun(facts({ submitStatuses: [202, 500, 503], statusReadStatuses: [200, 502] }));
    expect(report.serverErrors).toEqual({ submit: 2, reply: 0, status: 1 });
  });
});
