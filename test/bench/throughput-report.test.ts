/** The throughput benchmark's pure parts: percentiles, spreads over rounds, tables, ratios and options. */
import { parseBenchOptions } from '../../bench/throughput/options';
import { formatComparison, pairedRatio, summarize } from '../../bench/throughput/report';
import type { RoundResult } from '../../bench/throughput/round';
import { attemptRate, latencySummary, percentile, spread } from '../../bench/throughput/stats';
import { formatSpread, formatTable } from '../../bench/throughput/table';

function round(variant: 'herald' | 'bare', index: number, deliveredPerSecond: number): RoundResult {
  const flat = (value: number) => ({ median: value, min: value, max: value });
  return {
    server: 'file',
    variant,
    round: index,
    messages: 100,
    concurrency: 10,
    accepted: 100,
    delivered: 100,
    duplicates: 0,
    refused: 0,
    failed: 0,
    seconds: 100 / deliveredPerSecond,
    deliveredPerSecond,
    attemptsPerSecond: deliveredPerSecond,
    attemptRate: { steadyPerSecond: deliveredPerSecond, busiestWindowPerSecond: deliveredPerSecond },
    acceptMs: { p50: 10, p95: 20, p99: 30 },
    endToEndMs: { p50: 100, p95: 200, p99: 300 },
    cpuMsPerMessage: { server: 5, worker: 4, api: variant === 'herald' ? 3 : Number.NaN, benchClient: 1 },
    closeSeconds: 0.5,
    stillRunning: 0,
    history: { sampled: 20, events: flat(variant === 'herald' ? 30 : 11), workflowTasks: flat(2) },
  };
}

test('percentile takes the nearest rank; latencySummary sorts first', () => {
  const samples = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1, unsorted
  expect(percentile([1, 2, 3, 4], 50)).toBe(2);
  expect(percentile([1, 2, 3, 4], 100)).toBe(4);
  expect(percentile([], 50)).toBeNaN();
  expect(latencySummary(samples)).toEqual({ p50: 50, p95: 95, p99: 99 });
});

test('spread gives the median (mean of the middle two when even) and the range, ignoring NaN', () => {
  expect(spread([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3 });
  expect(spread([4, 1, 3, 2])).toEqual({ median: 2.5, min: 1, max: 4 });
  expect(spread([Number.NaN, 5])).toEqual({ median: 5, min: 5, max: 5 });
  expect(spread([]).median).toBeNaN();
});

test('formatSpread and formatTable lay out figures in padded columns', () => {
  expect(formatSpread({ median: 17.04, min: 16, max: 18.26 })).toBe('17.0 (16.0–18.3)');
  expect(formatSpread({ median: 2, min: 2, max: 2 }, 0)).toBe('2');
  expect(formatSpread(spread([]))).toBe('n/a');
  expect(
    formatTable([
      ['a', 'long header'],
      ['value', 'x'],
    ]).split('\n'),
  ).toEqual(['a      long header', '-----  -----------', 'value  x']);
});

test('summaries group rounds by server and variant, and the ratio pairs rounds in order', () => {
  const rounds = [round('herald', 1, 20), round('bare', 1, 40), round('herald', 2, 30), round('bare', 2, 30)];
  const [herald, bare] = summarize(rounds);
  expect(herald).toMatchObject({ variant: 'herald', rounds: 2, deliveredPerSecond: { median: 25, min: 20, max: 30 } });
  expect(bare!.cpuMsPerMessage.api.median).toBeNaN();
  const ratio = pairedRatio(
    rounds,
    'herald / bare',
    (r) => r.variant === 'herald',
    (r) => r.variant === 'bare',
  );
  expect(ratio?.ratio).toEqual({ median: 0.75, min: 0.5, max: 1 });
  const table = formatComparison(summarize(rounds), [ratio!]);
  expect(table).toContain('herald / bare');
  expect(table).toMatch(/file\s+bare\s+2\s+35\.0 \(30\.0–40\.0\)/);
});

test('options come from flags over environment variables, and bad ones are all named', () => {
  const options = parseBenchOptions(['--rounds', '5', '--server=file-legacy,file'], {
    BENCH_ROUNDS: '2',
    BENCH_MESSAGES: '10',
  });
  expect(options).toMatchObject({ rounds: 5, messages: 10, concurrency: 50, servers: ['file-legacy', 'file'] });
  expect(parseBenchOptions([], { TEMPORAL_ADDRESS: '127.0.0.1:7233' }).servers).toEqual(['fleet']);
  expect(() => parseBenchOptions(['--rounds', '0', '--server', 'disk', '--nope'], {})).toThrow(
    /unknown argument "--nope"[\s\S]*BENCH_SERVER: "disk" is not one of[\s\S]*BENCH_ROUNDS: an integer from 1 to 100/,
  );
});

test('attemptRate: the steady rate leaves out ramp-up and wind-down; the busiest window finds a burst', () => {
  // 10/s for 20 s, a burst of 15 more inside one second at 10 s, and a slow tail.
  const times = [
    ...Array.from({ length: 200 }, (_, i) => i * 100),
    ...Array.from({ length: 15 }, (_, i) => 10_000 + i * 10),
    20_500,
    21_500,
  ];
  const rate = attemptRate(times);
  expect(rate.steadyPerSecond).toBe(10);
  // 20 in the plain 2 s, plus the burst's 15.
  expect(rate.busiestWindowPerSecond).toBe(17.5);
  expect(attemptRate([1])).toEqual({ steadyPerSecond: Number.NaN, busiestWindowPerSecond: Number.NaN });
});
