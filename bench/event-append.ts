/**
 * Benchmark: what keeping event ids in commit order costs a PostgreSQL append. Starts a throwaway
 * PostgreSQL (scripts/postgres.mjs, free port), then appends APPENDS events with 1, 4 and 16 writers in
 * parallel (each its own pool, as separate processes would be), two ways:
 *   - ordered: Herald's append (herald_append_event: advisory lock, insert, NOTIFY, in one statement)
 *   - unordered: the same INSERT … ON CONFLICT DO NOTHING without the lock or NOTIFY, for comparison
 * and reports appends per second and the latency p50/p99 of one append. Prints a table and writes
 * JSON to bench/results/. Bounded in count; stops by itself.
 *
 *   npx tsx bench/event-append.ts        (APPENDS=5000 to change the load)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { startLocalPostgres } from '../scripts/local-postgres';
import { createPostgresEventLog } from '../src/store/postgres-event-log';
import { migratePostgres } from '../src/store/postgres-migrations';

const APPENDS = Number(process.env.APPENDS ?? 3000);
const WRITERS = [1, 4, 16];

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function main(): Promise<void> {
  const postgres = await startLocalPostgres();
  const { url } = postgres;
  const rows: { mode: string; writers: number; appendsPerSecond: number; p50Ms: number; p99Ms: number }[] = [];
  try {
    await migratePostgres(url);
    const versionPool = new Pool({ connectionString: url });
    const server = await versionPool.query<{ version: string }>('SHOW server_version');
    await versionPool.end();
    for (const mode of ['ordered', 'unordered'] as const) {
      for (const writers of WRITERS) {
        const pools = Array.from({ length: writers }, () => new Pool({ connectionString: url, max: 1 }));
        const logs = pools.map((pool) => createPostgresEventLog(pool, { listenConnection: { connectionString: url } }));
        const latencies: number[] = [];
        const perWriter = Math.ceil(APPENDS / writers);
        const run = `${mode}-${writers}-${Date.now()}`;
        const startedAt = performance.now();
        await Promise.all(
          pools.map(async (pool, w) => {
            for (let seq = 1; seq <= perWriter; seq++) {
              const event = {
                messageId: `${run}-w${w}`,
                runId: 'bench',
                seq,
                state: 'delivering',
                destination: 'bench.example',
                sender: null,
                at: new Date().toISOString(),
              };
              const t = performance.now();
              if (mode === 'ordered') await logs[w]!.append(event);
              else {
                await pool.query(
                  `INSERT INTO herald_message_events (message_id, run_id, seq, state, destination, sender, at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (message_id, run_id, seq) DO NOTHING`,
                  [event.messageId, event.runId, event.seq, event.state, event.destination, event.sender, event.at],
                );
              }
              latencies.push(performance.now() - t);
            }
          }),
        );
        const seconds = (performance.now() - startedAt) / 1000;
        latencies.sort((a, b) => a - b);
        rows.push({
          mode,
          writers,
          appendsPerSecond: Math.round(latencies.length / seconds),
          p50Ms: Number(percentile(latencies, 50).toFixed(2)),
          p99Ms: Number(percentile(latencies, 99).toFixed(2)),
        });
        await Promise.all(logs.map((log) => log.close()));
        await Promise.all(pools.map((pool) => pool.end()));
      }
    }
    console.table(rows);
    const results = join(__dirname, 'results');
    mkdirSync(results, { recursive: true });
    const file = join(results, 'event-append.json');
    writeFileSync(
      file,
      `${JSON.stringify(
        {
          at: new Date().toISOString(),
          machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30) },
          postgres: server.rows[0]?.version,
          appends: APPENDS,
          rows,
        },
        null,
        2,
      )}\n`,
    );
    console.log(`written to ${file}`);
  } finally {
    await postgres.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
