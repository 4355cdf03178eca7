/**
 * What every DestinationStore does, whatever holds it: settings replaced and merged with their history,
 * versions, the global switch, and the shared state that enforces limits (pacing, leases, breakers),
 * also when two stores on the same storage (two processes, two hosts) race. Run unchanged against
 * SQLite (sqlite-destination-store.test.ts) and PostgreSQL (postgres-destination-store.test.ts).
 */
import { randomUUID } from 'node:crypto';
import type { CircuitBreakerConfig } from '../../src/contract/destination';
import { VersionConflictError, type DestinationStore } from '../../src/store/destination-store';

export interface DestinationStoreSubject {
  /** A store; every test uses hosts of its own, so storage may be shared between tests. */
  open(): Promise<DestinationStore>;
  /** Another store on the same storage: what another process or host sees. */
  openAnother(): Promise<DestinationStore>;
}

const BREAKER: CircuitBreakerConfig = {
  failureRatio: 0.5,
  window: '10s',
  minimumAttempts: 4,
  cooldown: '5s',
  probes: 2,
};
const at = (ms: number) => new Date(Date.UTC(2030, 0, 1) + ms);

export function describeDestinationStore(name: string, subject: DestinationStoreSubject): void {
  describe(`DestinationStore contract: ${name}`, () => {
    let store: DestinationStore;
    let other: DestinationStore;
    let host: string;
    beforeEach(async () => {
      store = await subject.open();
      other = await subject.openAnother();
      host = `${randomUUID().slice(0, 8)}.example.com`;
    });
    afterEach(async () => {
      await other.close();
      await store.close();
    });

    test('replace and merge, null clears, versions count up, and the history says who changed what', async () => {
      expect(await store.get(host)).toBeUndefined();
      const first = await store.update(host, {
        mode: 'replace',
        settings: { paused: true, rateLimit: 5 },
        actor: 'ops',
        at: at(0),
        note: 'outage',
      });
      expect(first).toMatchObject({ host, version: 1, settings: { paused: true, rateLimit: 5 }, updatedBy: 'ops' });
      const merged = await other.update(host, {
        mode: 'merge',
        settings: { paused: false, rateLimit: null, maxConcurrency: 3 },
        actor: 'oncall',
        at: at(1000),
      });
      expect(merged.settings).toEqual({ paused: false, maxConcurrency: 3 });
      expect(merged.version).toBe(2);
      expect((await store.list()).find((record) => record.host === host)?.settings).toEqual(merged.settings);
      await expect(
        store.update(host, {
          mode: 'merge',
          settings: { paused: true },
          actor: 'late',
          at: at(2000),
          expectVersion: 1,
        }),
      ).rejects.toBeInstanceOf(VersionConflictError);
      const history = await store.history(host);
      expect(history.map((change) => [change.kind, change.actor, change.note])).toEqual([
        ['settings', 'oncall', null],
        ['settings', 'ops', 'outage'],
      ]);
      expect(history[0]).toMatchObject({ before: { paused: true, rateLimit: 5 }, after: merged.settings });
      expect(await store.history(host, { beforeId: history[0]!.id, limit: 1 })).toEqual([history[1]]);
    });

    test('the global switch is on until set, and its changes are its history', async () => {
      const before = await store.global();
      expect(['on', 'off']).toContain(before.retries);
      await store.setGlobal({ retries: 'off' }, 'ops', at(0));
      expect(await other.global()).toEqual({ retries: 'off' });
      await other.setGlobal({ retries: 'on' }, 'ops', at(1));
      expect(await store.global()).toEqual({ retries: 'on' });
      const history = await store.history('*', { limit: 2 });
      expect(history.map((change) => change.after)).toEqual([{ retries: 'on' }, { retries: 'off' }]);
      expect((await store.list()).some((record) => record.host === '*')).toBe(false);
    });

    test('pacing: 50 reservations raced from two stores get slots at least 1/rate apart', async () => {
      const now = at(0);
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) => (i % 2 ? store : other).reserveSlot(host, 10, now, 60_000)),
      );
      const waits = answers.map((answer) => (answer.reserved ? answer.waitMs : -1)).sort((a, b) => a - b);
      expect(waits[0]).toBe(0);
      for (let i = 1; i < waits.length; i++) expect(waits[i]! - waits[i - 1]!).toBeGreaterThanOrEqual(99);
      // Beyond the wait allowed, nothing is reserved and the answer says when to ask again.
      const refused = await store.reserveSlot(host, 10, now, 1_000);
      expect(refused).toEqual({ reserved: false, retryInMs: expect.any(Number) as number });
      if (!refused.reserved) expect(refused.retryInMs).toBeGreaterThan(3_000);
    });

    test('leases: 20 raced acquires with a limit of 3 grant exactly 3; a release frees one; expired ones do not count', async () => {
      const now = at(0);
      const granted = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? store : other).acquireLease(host, `l${i}`, 3, now, at(10_000))),
      );
      expect(granted.filter(Boolean)).toHaveLength(3);
      expect(await store.leasesInFlight(host, now)).toBe(3);
      const holder = granted.findIndex(Boolean);
      await other.releaseLease(host, `l${holder}`);
      expect(await store.leasesInFlight(host, now)).toBe(2);
      expect(await store.acquireLease(host, 'next', 3, now, at(10_000))).toBe(true);
      expect(await store.acquireLease(host, 'over', 3, now, at(10_000))).toBe(false);
      expect(await store.leasesInFlight(host, at(10_001))).toBe(0);
      expect(await store.acquireLease(host, 'after', 3, at(10_001), at(20_000))).toBe(true);
    });

    test('breaker: opens by ratio once, refuses while open, admits exactly the probes when half-open, closes on success', async () => {
      const outcomes = [true, false, false, false];
      const transitions = [];
      for (const [i, success] of outcomes.entries()) {
        transitions.push(await (i % 2 ? store : other).breakerRecord(host, BREAKER, { success, probe: false }, at(i)));
      }
      const opened = transitions.filter(Boolean);
      expect(opened).toHaveLength(1);
      expect(opened[0]).toMatchObject({ host, from: 'closed', to: 'open', window: { attempts: 4, failures: 3 } });
      // Late outcomes of attempts admitted before it opened change nothing.
      expect(await store.breakerRecord(host, BREAKER, { success: false, probe: false }, at(10))).toBeNull();
      const refused = await other.breakerAdmit(host, BREAKER, at(1_000));
      expect(refused.admission).toEqual({ admitted: false, retryInMs: 5_000 - 997, state: 'open' });
      // After the cool-down, from two stores at once: one moves it half-open, exactly `probes` go.
      const admitted = await Promise.all(
        Array.from({ length: 6 }, (_, i) => (i % 2 ? store : other).breakerAdmit(host, BREAKER, at(6_000))),
      );
      expect(admitted.filter((a) => a.admission.admitted)).toHaveLength(2);
      expect(admitted.filter((a) => a.transition)).toHaveLength(1);
      expect(admitted.find((a) => a.transition)?.transition).toMatchObject({ from: 'open', to: 'half_open' });
      expect(await store.breakerSnapshot(host, BREAKER, at(6_000))).toMatchObject({
        state: 'half_open',
        probesInFlight: 2,
      });
      const closed = await store.breakerRecord(host, BREAKER, { success: true, probe: true }, at(6_100));
      expect(closed).toMatchObject({ from: 'half_open', to: 'closed' });
      // The other probe's outcome, after it closed, changes nothing.
      expect(await other.breakerRecord(host, BREAKER, { success: false, probe: true }, at(6_200))).toBeNull();
      expect((await store.breakerAdmit(host, BREAKER, at(6_300))).admission).toMatchObject({
        admitted: true,
        probe: false,
      });
      expect((await store.history(host)).map((change) => change.kind)).toEqual([
        'circuit_closed',
        'circuit_half_open',
        'circuit_opened',
      ]);
    });

    test('breaker: a failed probe opens it again for another cool-down; N failures in a row open it too', async () => {
      const config: CircuitBreakerConfig = { ...BREAKER, minimumAttempts: 100, consecutiveFailures: 3, probes: 1 };
      for (let i = 0; i < 2; i++) {
        expect(await store.breakerRecord(host, config, { success: false, probe: false }, at(i))).toBeNull();
      }
      expect(await store.breakerRecord(host, config, { success: false, probe: false }, at(2))).toMatchObject({
        to: 'open',
      });
      const probe = await store.breakerAdmit(host, config, at(5_100));
      expect(probe.admission).toMatchObject({ admitted: true, probe: true });
      expect((await other.breakerAdmit(host, config, at(5_200))).admission).toMatchObject({ admitted: false });
      expect(await other.breakerRecord(host, config, { success: false, probe: true }, at(5_300))).toMatchObject({
        from: 'half_open',
        to: 'open',
      });
      expect((await store.breakerAdmit(host, config, at(9_000))).admission).toMatchObject({
        admitted: false,
        state: 'open',
      });
      expect((await store.breakerAdmit(host, config, at(10_400))).admission).toMatchObject({
        admitted: true,
        probe: true,
      });
    });
  });
}
