/** The comparison's summary: per server and variant, the median of each figure over rounds with its range. */
import type { RoundResult } from './round';
import type { VariantName } from './variants';
import { spread, type Spread } from './stats';
import { formatSpread, formatTable } from './table';

export interface VariantSummary {
  server: string;
  variant: string;
  rounds: number;
  deliveredPerSecond: Spread;
  attemptsPerSecond: Spread;
  attemptsSteadyPerSecond: Spread;
  attemptsBusiestWindowPerSecond: Spread;
  acceptMs: { p50: Spread; p95: Spread; p99: Spread };
  endToEndMs: { p50: Spread; p99: Spread };
  cpuMsPerMessage: { server: Spread; worker: Spread; api: Spread; benchClient: Spread };
  eventsPerMessage: Spread;
  workflowTasksPerMessage: Spread;
  /** Summed over rounds: what should be 0. */
  undelivered: number;
  failed: number;
  refused: number;
  duplicates: number;
}

/** A ratio of two medians of delivered/s (herald/bare on one server, or one server against another). */
export interface Ratio {
  label: string;
  /** Median of the per-round-pair ratios, with their range (rounds paired by index). */
  ratio: Spread;
}

export function summarize(rounds: readonly RoundResult[]): VariantSummary[] {
  const groups = new Map<string, RoundResult[]>();
  for (const round of rounds) {
    const key = `${round.server}\u0000${round.variant}`;
    groups.set(key, [...(groups.get(key) ?? []), round]);
  }
  return [...groups.values()].map((group) => {
    const of = (pick: (r: RoundResult) => number) => spread(group.map(pick));
    const sum = (pick: (r: RoundResult) => number) => group.reduce((total, r) => total + pick(r), 0);
    return {
      server: group[0]!.server,
      variant: group[0]!.variant,
      rounds: group.length,
      deliveredPerSecond: of((r) => r.deliveredPerSecond),
      attemptsPerSecond: of((r) => r.attemptsPerSecond),
      attemptsSteadyPerSecond: of((r) => r.attemptRate.steadyPerSecond),
      attemptsBusiestWindowPerSecond: of((r) => r.attemptRate.busiestWindowPerSecond),
      acceptMs: { p50: of((r) => r.acceptMs.p50), p95: of((r) => r.acceptMs.p95), p99: of((r) => r.acceptMs.p99) },
      endToEndMs: { p50: of((r) => r.endToEndMs.p50), p99: of((r) => r.endToEndMs.p99) },
      cpuMsPerMessage: {
        server: of((r) => r.cpuMsPerMessage.server),
        worker: of((r) => r.cpuMsPerMessage.worker),
        api: of((r) => r.cpuMsPerMessage.api),
        benchClient: of((r) => r.cpuMsPerMessage.benchClient),
      },
      eventsPerMessage: of((r) => r.history.events.median),
      workflowTasksPerMessage: of((r) => r.history.workflowTasks.median),
      undelivered: sum((r) => r.messages - r.delivered),
      failed: sum((r) => r.failed),
      refused: sum((r) => r.refused),
      duplicates: sum((r) => r.duplicates),
    };
  });
}

/** Delivered/s of `numerator` over `denominator`, round by round (the i-th of each, run next to each other). */
export function pairedRatio(
  rounds: readonly RoundResult[],
  label: string,
  numerator: (r: RoundResult) => boolean,
  denominator: (r: RoundResult) => boolean,
): Ratio | undefined {
  const top = rounds.filter(numerator);
  const bottom = rounds.filter(denominator);
  const pairs = Math.min(top.length, bottom.length);
  if (pairs === 0) return undefined;
  const ratios = Array.from({ length: pairs }, (_, i) => top[i]!.deliveredPerSecond / bottom[i]!.deliveredPerSecond);
  return { label, ratio: spread(ratios) };
}

/** Herald/bare on each server, and each tuned dev server against file-legacy when both ran. */
export function ratiosOf(rounds: readonly RoundResult[]): Ratio[] {
  const servers = [...new Set(rounds.map((r) => r.server))];
  // Each pair, server by server, round by round: Herald against the bare workflow; what destination
  // control costs with nothing configured; what payload encryption costs; what observing Herald costs.
  const pairs: [numerator: VariantName, denominator: VariantName][] = [
    ['herald', 'bare'],
    ['herald', 'herald-uncontrolled'],
    ['herald-encrypted', 'herald'],
    ['herald-observed', 'herald'],
  ];
  const ratios: (Ratio | undefined)[] = pairs.flatMap(([numerator, denominator]) =>
    servers.map((server) =>
      pairedRatio(
        rounds,
        `${numerator} / ${denominator} on ${server}`,
        (r) => r.server === server && r.variant === numerator,
        (r) => r.server === server && r.variant === denominator,
      ),
    ),
  );
  if (servers.includes('file-legacy')) {
    for (const server of servers.filter((s) => s !== 'file-legacy' && s !== 'fleet')) {
      for (const variant of new Set(rounds.map((r) => r.variant))) {
        ratios.push(
          pairedRatio(
            rounds,
            `${variant}: ${server} / file-legacy`,
            (r) => r.server === server && r.variant === variant,
            (r) => r.server === 'file-legacy' && r.variant === variant,
          ),
        );
      }
    }
  }
  return ratios.filter((r): r is Ratio => r !== undefined);
}

/** The printed table: one row per server and variant, then the ratios. */
export function formatComparison(summaries: readonly VariantSummary[], ratios: readonly Ratio[]): string {
  const header = [
    'server',
    'variant',
    'rounds',
    'delivered/s',
    'attempts/s all / steady / busiest 2 s',
    'accept p50 / p95 / p99 ms',
    'end-to-end p50 / p99 ms',
    'CPU ms/msg server',
    'worker',
    'API',
    'events/msg',
    'WFT/msg',
    'lost/failed/dup',
  ];
  const rows = summaries.map((s) => [
    s.server,
    s.variant,
    String(s.rounds),
    formatSpread(s.deliveredPerSecond),
    [s.attemptsPerSecond, s.attemptsSteadyPerSecond, s.attemptsBusiestWindowPerSecond]
      .map((v) => formatSpread(v))
      .join(' / '),
    [s.acceptMs.p50, s.acceptMs.p95, s.acceptMs.p99].map((v) => formatSpread(v, 0)).join(' / '),
    [s.endToEndMs.p50, s.endToEndMs.p99].map((v) => formatSpread(v, 0)).join(' / '),
    formatSpread(s.cpuMsPerMessage.server),
    formatSpread(s.cpuMsPerMessage.worker),
    formatSpread(s.cpuMsPerMessage.api),
    formatSpread(s.eventsPerMessage, 0),
    formatSpread(s.workflowTasksPerMessage, 0),
    `${s.undelivered}/${s.failed}/${s.duplicates}`,
  ]);
  const lines = [formatTable([header, ...rows])];
  if (ratios.length > 0) {
    lines.push(
      '',
      formatTable([
        ['ratio of delivered/s', 'median (min–max) over round pairs'],
        ...ratios.map((r) => [r.label, formatSpread(r.ratio, 2)]),
      ]),
    );
  }
  return lines.join('\n');
}
