/** The delivery benchmark's variants option: the default pair, the observed variant on request, and its ratio. */
import { request } from 'undici';
import { startDownstream } from '../../bench/throughput/downstream';
import { parseBenchOptions } from '../../bench/throughput/options';
import { ratiosOf } from '../../bench/throughput/report';
import type { RoundResult } from '../../bench/throughput/round';

test('herald and bare run by default; herald-observed is asked for; an unknown variant is refused', () => {
  expect(parseBenchOptions([], {}).variants).toEqual(['herald', 'bare']);
  expect(parseBenchOptions(['--variants', 'herald,herald-observed'], {}).variants).toEqual([
    'herald',
    'herald-observed',
  ]);
  expect(parseBenchOptions([], { BENCH_VARIANTS: 'herald-observed' }).variants).toEqual(['herald-observed']);
  expect(() => parseBenchOptions(['--variants', 'herald,traced'], {})).toThrow(
    'BENCH_VARIANTS: "traced" is not one of herald, herald-observed, herald-uncontrolled, herald-limited, herald-encrypted, bare',
  );
});

test('the report pairs herald-observed with herald, round by round', () => {
  const round = (variant: RoundResult['variant'], deliveredPerSecond: number) =>
    ({ server: 'file', variant, deliveredPerSecond }) as RoundResult;
  const ratios = ratiosOf([
    round('herald', 100),
    round('herald-observed', 96),
    round('herald', 50),
    round('herald-observed', 49),
  ]);
  expect(ratios.map((r) => r.label)).toEqual(['herald-observed / herald on file']);
  expect(ratios[0]!.ratio).toMatchObject({ min: 0.96, max: 0.98 });
});

test('the report pairs herald with herald-uncontrolled (what destination control costs unused); the rate limit is an option', () => {
  const round = (variant: RoundResult['variant'], deliveredPerSecond: number) =>
    ({ server: 'file', variant, deliveredPerSecond }) as RoundResult;
  const ratios = ratiosOf([
    round('herald', 19),
    round('herald-uncontrolled', 20),
    round('herald', 21),
    round('herald-uncontrolled', 20),
  ]);
  expect(ratios.map((r) => r.label)).toEqual(['herald / herald-uncontrolled on file']);
  expect(ratios[0]!.ratio).toMatchObject({ min: 0.95, max: 1.05 });
  expect(parseBenchOptions([], {}).rateLimit).toBe(50);
  expect(parseBenchOptions(['--rate-limit', '20', '--variants', 'herald-limited'], {})).toMatchObject({
    rateLimit: 20,
    variants: ['herald-limited'],
  });
});

test('--fail-first makes the receiver fail the first requests of each message (attempts/s above delivered/s); Herald variants only', async () => {
  expect(parseBenchOptions([], {}).failFirst).toBe(0);
  expect(parseBenchOptions(['--fail-first', '4', '--variants', 'herald,herald-limited'], {}).failFirst).toBe(4);
  expect(() => parseBenchOptions(['--fail-first', '4'], {})).toThrow(/BENCH_FAIL_FIRST: compares Herald variants only/);

  const downstream = await startDownstream({ failFirst: 2 });
  try {
    const post = (id: string) =>
      request(downstream.url, { method: 'POST', headers: { 'idempotency-key': id }, body: '{}' }).then(
        async (response) => (await response.body.dump(), response.statusCode),
      );
    expect([await post('a'), await post('a')]).toEqual([503, 503]);
    expect(downstream.receivedAt.has('a')).toBe(false);
    expect(await post('a')).toBe(200);
    expect(downstream.receivedAt.has('a')).toBe(true);
    expect(downstream.requestTimes).toHaveLength(3);
  } finally {
    await downstream.close();
  }
});
