/** The payload codec and its keyring: pure, no Temporal (the end-to-end tests are in encryption.test.ts). */
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { parseKeyring, type Keyring } from '../../src/encryption/keyring';
import { EncryptionCodec, encryptedWith, ENCRYPTED_ENCODING } from '../../src/encryption/payload-codec';

function keyring(text: string): Keyring {
  const parsed = parseKeyring(text);
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return parsed.keyring;
}

const K1 = `k1:${Buffer.alloc(32, 1).toString('base64')}`;
const K2 = `k2:${Buffer.alloc(32, 2).toString('base64')}`;
const text = (payload: Payload) => Buffer.from(payload.data ?? []).toString('latin1');
const plain = defaultPayloadConverter.toPayload({ authorization: 'Bearer planted-secret-1', body: 'marker-42' });

test('an encoded payload names the current key and shows nothing of the value; decoding gives it back', async () => {
  const codec = new EncryptionCodec(keyring(`${K2},${K1}`));
  const [encoded] = await codec.encode([plain]);
  expect(encryptedWith(encoded!)).toBe('k2');
  expect(Buffer.from(encoded!.metadata!.encoding!).toString()).toBe(ENCRYPTED_ENCODING);
  expect(text(encoded!)).not.toContain('planted-secret-1');
  expect(text(encoded!)).not.toContain('marker-42');
  expect(text(encoded!)).not.toContain('json/plain');
  const [decoded] = await codec.decode([encoded!]);
  expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual({
    authorization: 'Bearer planted-secret-1',
    body: 'marker-42',
  });
});

test('the same value encrypts differently each time (a fresh nonce)', async () => {
  const codec = new EncryptionCodec(keyring(K1));
  const [a, b] = await codec.encode([plain, plain]);
  expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
});

test('rotation: payloads under an older key decrypt while it is held, and name it when it is not', async () => {
  const [underK1] = await new EncryptionCodec(keyring(K1)).encode([plain]);
  const [decoded] = await new EncryptionCodec(keyring(`${K2},${K1}`)).decode([underK1!]);
  expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(defaultPayloadConverter.fromPayload(plain));
  await expect(new EncryptionCodec(keyring(K2)).decode([underK1!])).rejects.toThrow(
    'encrypted with key "k1", which HERALD_ENCRYPTION_KEYS does not hold',
  );
});

test('a payload that is not encrypted passes through (histories from before encryption)', async () => {
  const [decoded] = await new EncryptionCodec(keyring(K1)).decode([plain]);
  expect(decoded).toBe(plain);
});

test('an altered payload, or one relabelled with another key id, fails its integrity check', async () => {
  const both = keyring(`${K1},${K2}`);
  const [encoded] = await new EncryptionCodec(both).encode([plain]);
  const flipped = Buffer.from(encoded!.data!);
  flipped[20] = flipped[20]! ^ 1;
  await expect(new EncryptionCodec(both).decode([{ ...encoded!, data: flipped }])).rejects.toThrow(
    'failed its integrity check',
  );
  const relabelled = { ...encoded!, metadata: { ...encoded!.metadata, 'encryption-key-id': Buffer.from('k2') } };
  await expect(new EncryptionCodec(both).decode([relabelled])).rejects.toThrow('failed its integrity check');
});
