/** Keyrings and stream reading for the blob sealing tests. */
import type { Readable } from 'node:stream';
import { parseKeyring, type Keyring } from '../../src/encryption/keyring';

/** The keyring of an HERALD_ENCRYPTION_KEYS text (throws on a bad one: a test's own mistake). */
export function keyringOf(text: string): Keyring {
  const parsed = parseKeyring(text);
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return parsed.keyring;
}

/** Every chunk of a stream. */
export async function readAll(stream: Readable | AsyncIterable<Buffer>): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return chunks;
}
