/** Standard Webhooks signing with several secrets, checked by the `standardwebhooks` package and by Python's. */
import { Webhook } from 'standardwebhooks';
import { createSigner, secretsForHost, signatureHeaders, verifyWithAny } from '../../src/signing/standard-webhooks';
import { verifyWithPython } from '../helpers/python-webhooks';

const OLD = `whsec_${Buffer.from('old-secret-old-secret-old-secret').toString('base64')}`;
const NEW = `whsec_${Buffer.from('new-secret-new-secret-new-secret').toString('base64')}`;
const OTHER = `whsec_${Buffer.from('not-this-one-not-this-one-not-th').toString('base64')}`;

test('signed with two secrets, either one verifies with the standardwebhooks package; a third does not', () => {
  const body = JSON.stringify({ order: 42 });
  const headers = signatureHeaders([NEW, OLD], 'msg_1.delivery', new Date(), body);
  expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
  expect(new Webhook(OLD).verify(body, { ...headers })).toEqual({ order: 42 });
  expect(new Webhook(NEW).verify(body, { ...headers })).toEqual({ order: 42 });
  expect(() => new Webhook(OTHER).verify(body, { ...headers })).toThrow('No matching signature found');
  expect(() => verifyWithAny([OTHER], body, headers)).toThrow('No matching signature found');
  expect(() => verifyWithAny([OTHER, OLD], body, headers)).not.toThrow();
});

test('a streamed body signs as the same bytes sent at once, binary bytes included', async () => {
  const bytes = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 37) % 256));
  const at = new Date();
  const signer = createSigner([NEW], 'msg_2.delivery', at);
  for (let offset = 0; offset < bytes.length; offset += 777) signer.update(bytes.subarray(offset, offset + 777));
  const streamed = signer.headers();
  expect(streamed).toEqual(signatureHeaders([NEW], 'msg_2.delivery', at, bytes));
  expect(await verifyWithPython(NEW, { ...streamed }, bytes)).toBe('verified');
  expect(await verifyWithPython(OTHER, { ...streamed }, bytes)).toMatch(/^refused: WebhookVerificationError/);
  const changed = Buffer.from(bytes);
  changed[100] = changed[100]! ^ 1;
  expect(await verifyWithPython(NEW, { ...streamed }, changed)).toMatch(/^refused/);
});

test('a destination host picks its own secrets (with its port, then without), else *', () => {
  const secrets = { '*': [OTHER], 'api.example.com': [OLD], 'api.example.com:8443': [NEW] };
  expect(secretsForHost(secrets, 'api.example.com:8443')).toEqual([NEW]);
  expect(secretsForHost(secrets, 'API.example.com:9000')).toEqual([OLD]);
  expect(secretsForHost(secrets, 'api.example.com')).toEqual([OLD]);
  expect(secretsForHost(secrets, 'elsewhere.example.com')).toEqual([OTHER]);
  expect(secretsForHost({ 'api.example.com': [OLD] }, 'elsewhere.example.com')).toBeUndefined();
});
