/**
 * Large bodies for tests and the benchmark: pseudo-random bytes made chunk by chunk (never held whole),
 * with their SHA-256, a multipart/form-data send of them to POST /v1/messages, streamed, and a
 * destination that hashes what it receives as it arrives.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { API_KEY } from './api';

const CHUNK = 64 * 1024;

/** `size` bytes from `seed`, made as they are read; `sha256()` answers once they have all been read. */
export function generatedBody(size: number, seed = 1): { stream: () => Readable; sha256: string } {
  // The same bytes each time: a hash chain, chunk by chunk (fast, and deterministic for one seed).
  const chunkAt = (index: number) => {
    const block = createHash('sha512').update(`${seed}:${index}`).digest();
    const chunk = Buffer.allocUnsafe(CHUNK);
    for (let offset = 0; offset < CHUNK; offset += block.length) block.copy(chunk, offset);
    chunk.writeUInt32BE(index, 0);
    return chunk;
  };
  const chunks = function* () {
    let sent = 0;
    for (let index = 0; sent < size; index++) {
      const chunk = chunkAt(index).subarray(0, Math.min(CHUNK, size - sent));
      sent += chunk.length;
      yield chunk;
    }
  };
  const hash = createHash('sha256');
  for (const chunk of chunks()) hash.update(chunk);
  return { stream: () => Readable.from(chunks(), { objectMode: false }), sha256: hash.digest('hex') };
}

/** A multipart send: the `message` field, then the `body` file streamed from `body`. */
export async function sendMultipart(
  apiUrl: string,
  message: unknown,
  body: Readable | undefined,
  options: { contentType?: string; apiKey?: string; extraPart?: boolean; envelopeAsText?: boolean } = {},
) {
  const boundary = `herald-${randomBytes(12).toString('hex')}`;
  async function* parts() {
    // As curl -F sends it: a field with a type, or (envelopeAsText) plain text.
    const type = options.envelopeAsText ? '' : 'Content-Type: application/json\r\n';
    yield Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="message"\r\n${type}\r\n${JSON.stringify(message)}\r\n`,
    );
    if (body) {
      yield Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="body"; filename="body.bin"\r\nContent-Type: ${options.contentType ?? 'application/octet-stream'}\r\n\r\n`,
      );
      for await (const chunk of body) yield chunk as Buffer;
      yield Buffer.from('\r\n');
    }
    if (options.extraPart) {
      yield Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="more"\r\n\r\nx\r\n`);
    }
    yield Buffer.from(`--${boundary}--\r\n`);
  }
  const response = await request(`${apiUrl}/v1/messages`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${options.apiKey ?? API_KEY}`,
      'content-type': `multipart/form-data; boundary=${boundary}`,
    },
    body: Readable.from(parts()),
  });
  const text = await response.body.text();
  return { status: response.statusCode, body: JSON.parse(text) as Record<string, unknown>, text };
}

/** What the hashing destination saw of one request, by its idempotency key. */
export interface HashedRequest {
  size: number;
  sha256: string;
  contentType: string | undefined;
  length: string | undefined;
}

/** A destination on 127.0.0.1 that hashes each request body as it arrives (it never holds one). */
export async function startHashingDestination() {
  const received = new Map<string, HashedRequest>();
  const waiting = new Map<string, (request: HashedRequest) => void>();
  const server = createServer((req, res) => {
    const hash = createHash('sha256');
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => {
      const key = String(req.headers['idempotency-key']);
      const request = {
        size,
        sha256: hash.digest('hex'),
        contentType: req.headers['content-type'],
        length: req.headers['content-length'],
      };
      received.set(key, request);
      res.end('ok');
      waiting.get(key)?.(request);
      waiting.delete(key);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/large`,
    received,
    /** Resolves when the request with idempotency key `key` has arrived whole. */
    arrival: (key: string) => new Promise<HashedRequest>((resolve) => waiting.set(key, resolve)),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
