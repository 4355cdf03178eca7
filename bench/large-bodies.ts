/**
 * Benchmark: the large-body path's throughput in MiB/s. Starts the embedded Temporal dev server (SQLite
 * file, as `npm start` runs it), a throwaway PostgreSQL, a destination on 127.0.0.1 that hashes what it
 * receives, and two Heralds in this process (API and worker, payloads encrypted as on the embedded
 * default): one keeping blobs in a directory, one in PostgreSQL. Each round sends BODIES bodies of SIZE
 * each, one after another, per variant, in turn (interleaved), measured from the first byte of the
 * upload to the destination's last byte:
 *   - direct: the same bytes POSTed straight to the destination (the baseline: what the machine moves)
 *   - herald-file: a multipart send to Herald, kept in the directory store, delivered from it
 *   - herald-file-signed: the same with a delivery secret (HERALD_DELIVERY_SECRETS): the body is read
 *     once more to sign it before it is streamed
 *   - herald-postgres: the same with the PostgreSQL store (HERALD_BLOB_STORE=postgres)
 * Every delivery is checked byte for byte (sha256). Prints a table of medians (and ranges) and writes
 * JSON to bench/results/large-bodies.json. Bounded in count; stops by itself.
 *
 *   npm run bench:large       (SIZE_MIB=32 BODIES=3 ROUNDS=3 to change the load)
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startLocalPostgres } from '../scripts/local-postgres';
import { loadConfig } from '../src/config/config';
import { createLogger } from '../src/observability/logger';
import { openResources } from '../src/runtime/resources';
import { MESSAGE_WORKFLOW } from '../src/contract/definitions';
import type { MessageStatus } from '../src/contract/message-status';
import { statusQuery } from '../src/contract/definitions';
import { API_KEY } from '../test/helpers/api';
import { generatedBody, sendMultipart, startHashingDestination } from '../test/helpers/upload';
import { startBenchServer } from './throughput/temporal-servers';
import { formatSpread, formatTable } from './throughput/table';
import { spread } from './throughput/stats';

const MiB = 2 ** 20;
const SIZE = Number(process.env.SIZE_MIB ?? 32) * MiB;
const BODIES = Number(process.env.BODIES ?? 3);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const VARIANTS = ['direct', 'herald-file', 'herald-file-signed', 'herald-postgres'] as const;
type Variant = (typeof VARIANTS)[number];

async function main(): Promise<void> {
  const log = (line: string) => console.log(line);
  const temporal = await startBenchServer('file', {
    extraArgs: [],
    fleetAddress: undefined,
    namespace: 'default',
    log: () => undefined,
  });
  const postgres = await startLocalPostgres();
  const destination = await startHashingDestination();
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-bench-large-'));
  const base = {
    TEMPORAL_ADDRESS: temporal.address,
    HERALD_API_KEYS: `bench:${API_KEY}`,
    HERALD_API_PORT: '0',
    HERALD_METRICS_PORT: 'off',
    HERALD_ADMISSION: 'off',
    HERALD_DESTINATION_ALLOWLIST: '127.0.0.1',
    HERALD_ENCRYPTION_KEYS: `bench:${Buffer.alloc(32, 7).toString('base64')}`,
    HERALD_MAX_BODY_BYTES: String(SIZE + MiB),
    LOG_LEVEL: 'warn',
  };
  const logger = createLogger('warn');
  const heralds = {
    'herald-file': await openResources(
      loadConfig({ ...base, HERALD_TASK_QUEUE: 'bench-large-file', HERALD_DATA_DIR: join(dataDir, 'file') }),
      { logger, worker: true, api: true },
    ),
    'herald-file-signed': await openResources(
      loadConfig({
        ...base,
        HERALD_TASK_QUEUE: 'bench-large-file-signed',
        HERALD_DATA_DIR: join(dataDir, 'file-signed'),
        HERALD_DELIVERY_SECRETS: JSON.stringify({ '*': `whsec_${Buffer.alloc(32, 9).toString('base64')}` }),
      }),
      { logger, worker: true, api: true },
    ),
    'herald-postgres': await openResources(
      loadConfig({
        ...base,
        HERALD_TASK_QUEUE: 'bench-large-postgres',
        HERALD_DATA_DIR: join(dataDir, 'postgres'),
        HERALD_DATABASE_URL: postgres.url,
      }),
      { logger, worker: true, api: true },
    ),
  };
  const body = generatedBody(SIZE, 42);
  let sequence = 0;

  /** One body through `variant`; resolves once the destination has every byte (checked). */
  async function sendOne(variant: Variant): Promise<void> {
    const id = `bench-large-${variant}-${Date.now().toString(36)}-${++sequence}`;
    const arrived = destination.arrival(id);
    if (variant === 'direct') {
      const response = await request(destination.url, {
        method: 'POST',
        headers: { 'idempotency-key': id, 'content-length': String(SIZE) },
        body: body.stream(),
      });
      await response.body.dump();
    } else {
      const herald = heralds[variant];
      const sent = await sendMultipart(herald.api.url, { id, destination: { url: destination.url } }, body.stream());
      if (sent.status !== 202) throw new Error(`${variant}: ${sent.status} ${sent.text}`);
    }
    const received = await arrived;
    if (received.size !== SIZE || received.sha256 !== body.sha256)
      throw new Error(`${variant}: the body arrived changed`);
    if (variant !== 'direct') {
      // Delivered in Herald's own terms too (the status, not only the destination).
      const handle = heralds[variant].client.workflow.getHandle(id);
      while ((await handle.query<MessageStatus>(statusQuery)).state !== 'delivered') {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }

  const results: Record<Variant, number[]> = {
    direct: [],
    'herald-file': [],
    'herald-file-signed': [],
    'herald-postgres': [],
  };
  try {
    log(`large bodies: ${BODIES} × ${SIZE / MiB} MiB per variant and round, ${ROUNDS} rounds (+1 warm-up)`);
    for (let round = 0; round <= ROUNDS; round++) {
      // Each round starts with another variant, so none always runs on the coldest or the warmest machine.
      const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length]!);
      for (const variant of order) {
        const started = performance.now();
        for (let i = 0; i < BODIES; i++) await sendOne(variant);
        const seconds = (performance.now() - started) / 1000;
        const mibPerSecond = (BODIES * SIZE) / MiB / seconds;
        if (round === 0) continue; // warm-up
        results[variant].push(mibPerSecond);
        log(`round ${round} ${variant}: ${mibPerSecond.toFixed(1)} MiB/s`);
      }
    }
  } finally {
    await heralds['herald-file'].close();
    await heralds['herald-file-signed'].close();
    await heralds['herald-postgres'].close();
    await destination.close();
    await postgres.stop();
    await temporal.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }

  const direct = spread(results.direct);
  const rows = VARIANTS.map((variant) => {
    const figure = spread(results[variant]);
    const ratios = spread(results[variant].map((value, i) => value / results.direct[i]!));
    return { variant, mibPerSecond: figure, ofDirect: ratios };
  });
  console.log('');
  console.log(
    formatTable([
      ['variant', 'MiB/s median (range)', 'of direct (paired)'],
      ...rows.map((row) => [row.variant, formatSpread(row.mibPerSecond), formatSpread(row.ofDirect, 2)]),
    ]),
  );
  const file = join(__dirname, 'results', 'large-bodies.json');
  mkdirSync(join(__dirname, 'results'), { recursive: true });
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        at: new Date().toISOString(),
        machine: { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30) },
        sizeMiB: SIZE / MiB,
        bodiesPerRound: BODIES,
        rounds: ROUNDS,
        workflow: MESSAGE_WORKFLOW,
        direct,
        variants: rows,
        raw: results,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`\nwritten to ${file}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
