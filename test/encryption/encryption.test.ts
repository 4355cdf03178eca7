/**
 * Payload encryption against the real dev server: what Temporal holds of a message (its history, as
 * `temporal workflow show` prints it) shows neither a planted credential nor a planted body marker; the
 * codec endpoint shows both to a caller with an API key (the CLI's --codec-endpoint, and a browser's
 * session cookie with CORS), and refuses everyone else; and a rotation: a message started under key 1
 * completes after key 2 became current, its new payloads under key 2.
 */
import { Client } from '@temporalio/client';
import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openFileBlobStore } from '../../src/blobs/file-blob-store';
import { encryptionKeyUsage } from '../../src/runtime/encryption-key-usage';
import { openSqliteDeadLetterStore } from '../../src/store/sqlite-dead-letter-store';
import { findTemporalCli } from '../../src/temporal/temporal-cli';
import { API_KEY, OTHER_API_KEY, signedReply } from '../helpers/api';
import { eventually } from '../helpers/eventually';
import { startFixture, type HeraldFixture } from '../helpers/fixture';
import { uniqueId } from '../helpers/herald';

const K1 = `k1:${Buffer.alloc(32, 11).toString('base64')}`;
const K2 = `k2:${Buffer.alloc(32, 22).toString('base64')}`;
const UI_ORIGIN = 'http://127.0.0.1:18233';
const SECRET = 'Bearer planted-credential-7f3a9c';
const MARKER = 'planted-body-marker-51d2e8';

let fixture: HeraldFixture;
/** The dead letter of 'the dead-letter store at rest', parked under key 1 (the rotation looks for it). */
let parkedId: string | undefined;

beforeAll(async () => {
  fixture = await startFixture({
    api: true,
    env: { HERALD_ENCRYPTION_KEYS: K1, HERALD_CODEC_CORS_ORIGINS: UI_ORIGIN },
  });
}, 60_000);

afterAll(() => fixture?.close());

/** Runs the Temporal CLI without blocking: with --codec-endpoint it calls the API in this very process. */
async function temporalCli(args: string[]): Promise<string> {
  const cli = findTemporalCli({ install: false, log: () => undefined });
  const { stdout } = await promisify(execFile)(
    cli.path,
    [...args, '--address', process.env.HERALD_TEST_TEMPORAL_ADDRESS!],
    {
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, TEMPORAL_NAMESPACE: fixture.herald.config.temporal.namespace },
    },
  );
  return stdout;
}

/** Everything a reader of `temporal workflow show --output json` sees: the text, and each base64 value decoded. */
function visibleText(json: string): string {
  const decoded: string[] = [];
  JSON.parse(json, (_key, value: unknown) => {
    if (typeof value === 'string' && /^[A-Za-z0-9+/]{8,}={0,2}$/.test(value)) {
      decoded.push(Buffer.from(value, 'base64').toString('latin1'));
    }
    return value;
  });
  return `${json}\n${decoded.join('\n')}`;
}

async function sendPlanted(extra: Record<string, unknown> = {}): Promise<string> {
  const id = uniqueId('enc');
  const response = await fixture.api.call<{ id: string }>('POST', '/v1/messages', {
    json: {
      id,
      destination: { url: fixture.downstream.url(`/${id}`), headers: { authorization: SECRET } },
      body: { note: MARKER },
      ...extra,
    },
  });
  expect(response.status).toBe(202);
  return id;
}

describe('what Temporal holds', () => {
  let id: string;

  beforeAll(async () => {
    id = await sendPlanted();
    await fixture.herald.waitForState(id, 'delivered');
  }, 60_000);

  test('the destination got the credential and the body: the worker decrypted them', () => {
    const [request] = fixture.downstream.requests(`/${id}`);
    expect(request!.headers.authorization).toBe(SECRET);
    expect(request!.body).toContain(MARKER);
  });

  test('the history, as temporal workflow show prints it, has neither, anywhere', async () => {
    const json = await temporalCli(['workflow', 'show', '--workflow-id', id, '--output', 'json']);
    const text = await temporalCli(['workflow', 'show', '--workflow-id', id]);
    for (const shown of [visibleText(json), text]) {
      expect(shown).not.toContain('planted-credential');
      expect(shown).not.toContain(MARKER);
    }
    expect(visibleText(json)).toContain('binary/encrypted');
  });

  test('through the codec endpoint, with an API key, the CLI shows both', async () => {
    const json = await temporalCli([
      'workflow',
      'show',
      '--workflow-id',
      id,
      '--output',
      'json',
      '--codec-endpoint',
      `${fixture.api.url}/codec`,
      '--codec-auth',
      `Bearer ${API_KEY}`,
    ]);
    expect(visibleText(json)).toContain('planted-credential-7f3a9c');
    expect(visibleText(json)).toContain(MARKER);
    expect(visibleText(json)).not.toContain('binary/encrypted');
  });

  test('a Temporal client without the key sees only ciphertext in the start input and the result', async () => {
    const plain = new Client({
      connection: fixture.herald.client.connection,
      namespace: fixture.herald.config.temporal.namespace,
    });
    const history = await plain.workflow.getHandle(id).fetchHistory();
    const text = JSON.stringify(history.events);
    expect(text).not.toContain(MARKER);
    await expect(plain.workflow.getHandle(id).result()).rejects.toThrow(/binary\/encrypted|Unknown encoding/);
  });
});

describe('the codec endpoint', () => {
  const encryptedPayload = async () => {
    const encoded = await fixture.api.call<{ payloads: unknown[] }>('POST', '/codec/encode', {
      json: {
        payloads: [
          {
            metadata: { encoding: Buffer.from('json/plain').toString('base64') },
            data: Buffer.from(`"${MARKER}"`).toString('base64'),
          },
        ],
      },
    });
    expect(encoded.status).toBe(200);
    return encoded.body.payloads;
  };

  test('takes an empty list left out, as the Temporal CLI sends a query without arguments', async () => {
    for (const path of ['/codec/encode', '/codec/decode']) {
      const answered = await fixture.api.call<{ payloads: unknown[] }>('POST', path, { json: {} });
      expect(answered.status).toBe(200);
      expect(answered.body.payloads).toEqual([]);
    }
  });

  test('refuses a caller without a key, or with a wrong one, with a 401 problem', async () => {
    const payloads = await encryptedPayload();
    for (const authorization of [null, 'Bearer wrong-key-0123456789abcdef']) {
      const refused = await fixture.api.call('POST', '/codec/decode', {
        json: { payloads },
        headers: { authorization },
      });
      expect(refused.status).toBe(401);
      expect(refused.headers['content-type']).toContain('application/problem+json');
      expect(refused.text).not.toContain(Buffer.from(MARKER).toString('base64'));
    }
  });

  test('another namespace is not served; a payload under a key it does not hold is a 422 naming the key id', async () => {
    const payloads = await encryptedPayload();
    const other = await fixture.api.call('POST', '/codec/decode', {
      json: { payloads },
      headers: { 'x-namespace': 'someone-else' },
    });
    expect(other.status).toBe(404);
    const foreign = await fixture.api.call<{ detail: string }>('POST', '/codec/decode', {
      json: {
        payloads: [
          {
            metadata: {
              encoding: Buffer.from('binary/encrypted').toString('base64'),
              'encryption-key-id': Buffer.from('k9').toString('base64'),
            },
            data: Buffer.alloc(40).toString('base64'),
          },
        ],
      },
    });
    expect(foreign.status).toBe(422);
    expect(foreign.body.detail).toBe('encrypted with key "k9", which HERALD_ENCRYPTION_KEYS does not hold');
  });

  test('a browser: preflight from the Web UI origin only, then decode with the session cookie alone', async () => {
    const preflight = await fetch(`${fixture.api.url}/codec/decode`, {
      method: 'OPTIONS',
      headers: {
        origin: UI_ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-namespace',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('x-namespace');
    const stranger = await fetch(`${fixture.api.url}/codec/decode`, {
      method: 'OPTIONS',
      headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(stranger.status).toBe(403);
    expect(stranger.headers.get('access-control-allow-origin')).toBeNull();

    const session = await fixture.api.call<{ name: string }>('POST', '/codec/session');
    expect(session.status).toBe(200);
    expect(session.body.name).toBe('tests');
    const cookie = String(session.headers['set-cookie']);
    expect(cookie).toMatch(/^herald_codec=[^;]+; Path=\/codec; HttpOnly; SameSite=Lax; Max-Age=43200$/);
    const payloads = await encryptedPayload();
    const decoded = await fetch(`${fixture.api.url}/codec/decode`, {
      method: 'POST',
      headers: { origin: UI_ORIGIN, 'content-type': 'application/json', cookie: cookie.split(';')[0]! },
      body: JSON.stringify({ payloads }),
    });
    expect(decoded.status).toBe(200);
    expect(decoded.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    const body = (await decoded.json()) as { payloads: { data: string }[] };
    expect(Buffer.from(body.payloads[0]!.data, 'base64').toString()).toBe(`"${MARKER}"`);
    // A forged or altered cookie is refused.
    const forged = await fetch(`${fixture.api.url}/codec/decode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: `${cookie.split(';')[0]!.slice(0, -2)}xx` },
      body: JSON.stringify({ payloads }),
    });
    expect(forged.status).toBe(401);
    // A key taken out of HERALD_API_KEYS ends its sessions: another host without it refuses the same cookie.
    const withoutKey = await fixture.startApi({ HERALD_API_KEYS: `other:${OTHER_API_KEY}` });
    const ended = await fetch(`${withoutKey.url}/codec/decode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: cookie.split(';')[0]! },
      body: JSON.stringify({ payloads }),
    });
    expect(ended.status).toBe(401);
  });
});

describe('the dead-letter store at rest', () => {
  test('a dead letter is stored sealed, and read back whole by the API (credentials redacted, as always)', async () => {
    const id = uniqueId('enc-dl');
    fixture.downstream.script(`/${id}`, [{ status: 404 }]);
    const response = await fixture.api.call('POST', '/v1/messages', {
      json: {
        id,
        destination: { url: fixture.downstream.url(`/${id}`), headers: { authorization: SECRET } },
        body: { note: MARKER },
      },
    });
    expect(response.status).toBe(202);
    await fixture.herald.waitForState(id, 'dead_lettered');
    parkedId = id;

    const file = new Database(fixture.herald.config.deadLetterDbPath, { readonly: true });
    try {
      const row = file.prepare('SELECT * FROM dead_letters WHERE id = ?').get(id) as Record<string, unknown>;
      expect(row).toBeDefined();
      const stored = JSON.stringify(row);
      expect(stored).not.toContain('planted-credential');
      expect(stored).not.toContain(MARKER);
      expect(stored).toContain('herald:sealed');
      // What an operator filters on stays plain.
      expect(row.reason).toBe('permanent_error');
      expect(row.destination).toBe(new URL(fixture.downstream.url('/')).host);
    } finally {
      file.close();
    }

    const read = await fixture.api.call<{
      message: { body: unknown; destination: { headers: Record<string, string> } };
    }>('GET', `/v1/dead-letters/${id}`);
    expect(read.status).toBe(200);
    expect(read.body.message.body).toEqual({ note: MARKER });
    expect(read.text).not.toContain('planted-credential');
    // An API holding key 2 first still reads what key 1 sealed.
    const rotated = await fixture.startApi({ HERALD_ENCRYPTION_KEYS: `${K2},${K1}` });
    const again = await rotated.call<{ message: { body: unknown } }>('GET', `/v1/dead-letters/${id}`);
    expect(again.body.message.body).toEqual({ note: MARKER });
    // One without key 1 says which key it lacks, as a problem.
    const withoutK1 = await fixture.startApi({ HERALD_ENCRYPTION_KEYS: K2 });
    const refused = await withoutK1.call<{ detail: string }>('GET', `/v1/dead-letters/${id}`);
    expect(refused.status).toBe(422);
    expect(refused.body.detail).toBe('encrypted with key "k1", which HERALD_ENCRYPTION_KEYS does not hold');
  }, 60_000);
});

// Last: it replaces the fixture's worker with one holding key 2 first.
describe('key rotation', () => {
  test('a message started under key 1 completes after key 2 becomes current; its new payloads use key 2', async () => {
    const id = await sendPlanted({ reply: { timeout: '5m' } });
    await fixture.herald.waitForState(id, 'awaiting_reply');
    // Every process now holds key 2 first and key 1 to read what was written before.
    const rotated = await fixture.startApi({ HERALD_ENCRYPTION_KEYS: `${K2},${K1}` });
    fixture.worker!.worker.shutdown();
    await fixture.worker!.stopped;
    await fixture.startWorkerProcess({ HERALD_ENCRYPTION_KEYS: `${K2},${K1}` });
    const replied = await rotated.call(
      'POST',
      `/v1/messages/${id}/reply`,
      signedReply(`${id}#r1`, { body: { answer: MARKER } }),
    );
    expect(replied.status).toBe(200);
    const status = await eventually(() => rotated.call<{ state: string }>('GET', `/v1/messages/${id}`), {
      until: (response) => response.body.state === 'replied',
      what: 'the message to be replied',
      timeoutMs: 30_000,
    });
    expect(status.body.state).toBe('replied');
    const plain = new Client({
      connection: fixture.herald.client.connection,
      namespace: fixture.herald.config.temporal.namespace,
    });
    const history = await plain.workflow.getHandle(id).fetchHistory();
    const keyIds = (history.events ?? []).flatMap(
      (event) =>
        JSON.stringify(event)
          .match(/"encryption-key-id":"([^"]+)"/g)
          ?.map((m) => Buffer.from(m.split('"')[3]!, 'base64').toString()) ?? [],
    );
    expect(keyIds[0]).toBe('k1');
    expect(keyIds.at(-1)).toBe('k2');
    expect(JSON.stringify(history.events)).not.toContain(MARKER);

    // A large body the API on key 1 kept in the blob store, sealed with key 1 at rest: the worker on key 2
    // (holding key 1) delivers it, and the file holds no byte of it in the clear.
    const large = uniqueId('large-k1');
    const sent = await fixture.api.call('POST', '/v1/messages', {
      json: {
        id: large,
        destination: { url: fixture.downstream.url('/large') },
        body: `${MARKER}${'z'.repeat(200_000)}`,
      },
    });
    expect(sent.status).toBe(202);
    await eventually(() => rotated.call<{ state: string }>('GET', `/v1/messages/${large}`), {
      until: (response) => response.body.state === 'delivered',
      what: 'the large message to be delivered',
      timeoutMs: 30_000,
    });
    expect(fixture.downstream.requests('/large')[0]?.body).toContain(MARKER);
    const blobStore = fixture.herald.config.blobs.store;
    if (blobStore.kind !== 'file') throw new Error('the fixture keeps blobs in a directory');
    const rawBlobs = openFileBlobStore(blobStore.directory);
    const [sealedBlob] = (await rawBlobs.listCreatedBefore('2999-01-01T00:00:00.000Z', 100)).blobs.filter(
      (blob) => blob.messageId === large,
    );
    expect(sealedBlob?.keyId).toBe('k1');
    expect(readFileSync(join(blobStore.directory, `${sealedBlob!.id}.bin`)).includes(Buffer.from(MARKER))).toBe(false);

    // Before retiring key 1: what still needs it (npm run encryption:key-usage), read from Temporal and the raw stores.
    const raw = openSqliteDeadLetterStore(fixture.herald.config.deadLetterDbPath);
    try {
      const deps = { client: plain, taskQueue: fixture.herald.taskQueue, deadLetters: raw, blobs: rawBlobs };
      const k1 = await encryptionKeyUsage(deps, 'k1');
      expect(k1.runningWorkflows.ids).toContain(parkedId);
      expect(k1.runningWorkflows.ids).not.toContain(id); // replied: closed
      expect(k1.deadLetters.ids).toEqual([parkedId]);
      expect(k1.closedRunsKept).toBeGreaterThanOrEqual(1);
      expect(k1.blobs.ids).toEqual([`${sealedBlob!.id} (${large})`]);
      const k2 = await encryptionKeyUsage(deps, 'k2');
      expect(k2.runningWorkflows.count).toBe(0);
      expect(k2.deadLetters.count).toBe(0);
      expect(k2.blobs.count).toBe(0);
    } finally {
      await raw.close();
    }
  }, 120_000);
});
