/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): `webhook-signature` holds one
 * `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` per secret, space-separated, so a receiver that
 * knows any one of the secrets verifies it. That is how every secret Herald holds rotates without a gap:
 * during a rotation both the old and the new secret are configured, Herald signs with both and accepts
 * either, and the other side moves over at its own pace.
 *
 * Signing is hand-written (an HMAC over bytes) because the `standardwebhooks` package signs strings
 * only: it decodes a Buffer as UTF-8 first, which changes a binary body. Verifying uses the package.
 */
import { createHmac, type Hmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Webhook } from 'standardwebhooks';

/** Secrets by what they are chosen by (a destination host, an API key name, `*` for any); never empty lists. */
export type SecretsByKey = Record<string, readonly string[]>;

/**
 * The secrets for `key` (an API key name: exact, as names are everywhere else), else those for `*`.
 */
export function secretsFor(secrets: SecretsByKey, key: string | null | undefined): readonly string[] | undefined {
  if (key && Object.hasOwn(secrets, key)) return secrets[key];
  return secrets['*'];
}

/**
 * The secrets for a destination host (`host` or `host:port`, as in HeraldDestination): the entry for the
 * host with its port, else the host alone, else `*`. Host names are case-insensitive.
 */
export function secretsForHost(secrets: SecretsByKey, host: string): readonly string[] | undefined {
  const byHost = new Map(Object.entries(secrets).map(([name, list]) => [name.toLowerCase(), list]));
  const wanted = host.toLowerCase();
  return byHost.get(wanted) ?? byHost.get(wanted.replace(/:\d+$/, '')) ?? secrets['*'];
}

/** The three headers of a signed request. */
export interface SignatureHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

function keyOf(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
}

/**
 * A signer for one request: feed it the body as it is sent (all at once, or chunk by chunk for a
 * streamed body), then take the headers. One HMAC per secret, over the same bytes.
 */
export function createSigner(secrets: readonly string[], id: string, timestamp: Date) {
  const seconds = Math.floor(timestamp.getTime() / 1000);
  const hmacs: Hmac[] = secrets.map((secret) => createHmac('sha256', keyOf(secret)).update(`${id}.${seconds}.`));
  return {
    update(chunk: Buffer | string): void {
      for (const hmac of hmacs) hmac.update(chunk);
    },
    headers(): SignatureHeaders {
      return {
        'webhook-id': id,
        'webhook-timestamp': String(seconds),
        'webhook-signature': hmacs.map((hmac) => `v1,${hmac.digest('base64')}`).join(' '),
      };
    },
  };
}

/** The headers that sign `body` with every one of `secrets`. */
export function signatureHeaders(
  secrets: readonly string[],
  id: string,
  timestamp: Date,
  body: Buffer | string,
): SignatureHeaders {
  const signer = createSigner(secrets, id, timestamp);
  signer.update(body);
  return signer.headers();
}

/** The signed headers of a request, or undefined when one is missing. */
export function signedHeaders(headers: IncomingHttpHeaders): SignatureHeaders | undefined {
  const header = (name: string) => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const id = header('webhook-id');
  const timestamp = header('webhook-timestamp');
  const signature = header('webhook-signature');
  if (!id || !timestamp || !signature) return undefined;
  return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature };
}

/**
 * Verifies a signed request against every secret (timestamps within five minutes, as the package
 * checks); throws the last secret's refusal when none verifies it.
 */
export function verifyWithAny(secrets: readonly string[], body: string, headers: SignatureHeaders): void {
  let refusal: unknown = new Error('no secret to verify with');
  for (const secret of secrets) {
    try {
      new Webhook(secret).verify(body, { ...headers });
      return;
    } catch (error) {
      refusal = error;
    }
  }
  throw refusal;
}
