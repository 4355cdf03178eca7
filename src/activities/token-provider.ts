/**
 * OAuth2 client-credentials tokens for destinations that need them (RFC 6749 §4.4). Credentials come
 * from config, never from a message. Tokens are cached per destination host until shortly before they
 * expire, and discarded when the destination answers 401 so the next request fetches a fresh one.
 */
import { request, type Dispatcher } from 'undici';
import type { TokenProviderConfig } from '../config/config';

/** Refresh this long before the token's stated expiry, so a request does not race the expiry. */
const EXPIRY_MARGIN_MS = 30_000;
const TOKEN_REQUEST_TIMEOUT_MS = 10_000;

/** The token endpoint refused or failed; `permanent` when retrying cannot help (bad credentials). */
export class TokenUnavailableError extends Error {
  override name = 'TokenUnavailableError';
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
  }
}

export interface TokenCache {
  /** Whether a token provider is configured for this host. */
  has(host: string): boolean;
  /** A valid access token for the host, from cache or freshly fetched. */
  token(host: string): Promise<string>;
  /** Forgets the cached token (the destination said it expired). */
  invalidate(host: string): void;
}

export function createTokenCache(
  providers: Record<string, TokenProviderConfig>,
  options: { dispatcher?: Dispatcher; now?: () => number } = {},
): TokenCache {
  const now = options.now ?? Date.now;
  const cache = new Map<string, { token: string; expiresAt: number }>();
  // Concurrent deliveries to one host share one token request.
  const inFlight = new Map<string, Promise<string>>();

  async function fetchToken(host: string, provider: TokenProviderConfig): Promise<string> {
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (provider.scope) form.set('scope', provider.scope);
    if (provider.audience) form.set('audience', provider.audience);
    const basic = Buffer.from(`${encodeURIComponent(provider.clientId)}:${encodeURIComponent(provider.clientSecret)}`);
    let response: Dispatcher.ResponseData;
    try {
      response = await request(provider.tokenUrl, {
        method: 'POST',
        headers: {
          authorization: `Basic ${basic.toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: form.toString(),
        dispatcher: options.dispatcher,
        signal: AbortSignal.timeout(TOKEN_REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      throw new TokenUnavailableError(`token endpoint unreachable: ${(error as Error).message}`, false);
    }
    const text = await response.body.text();
    if (response.statusCode !== 200) {
      const permanent = response.statusCode >= 400 && response.statusCode < 500 && response.statusCode !== 429;
      throw new TokenUnavailableError(`token endpoint answered ${response.statusCode}`, permanent);
    }
    let parsed: { access_token?: unknown; expires_in?: unknown };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      throw new TokenUnavailableError('token endpoint answered with invalid JSON', false);
    }
    if (typeof parsed.access_token !== 'string' || parsed.access_token === '') {
      throw new TokenUnavailableError('token endpoint answered without access_token', false);
    }
    const lifetimeMs = typeof parsed.expires_in === 'number' ? parsed.expires_in * 1000 : 3_600_000;
    cache.set(host, { token: parsed.access_token, expiresAt: now() + lifetimeMs - EXPIRY_MARGIN_MS });
    return parsed.access_token;
  }

  return {
    has: (host) => host in providers,
    async token(host) {
      const provider = providers[host];
      if (!provider) throw new TokenUnavailableError(`no token provider for ${host}`, true);
      const cached = cache.get(host);
      if (cached && cached.expiresAt > now()) return cached.token;
      let pending = inFlight.get(host);
      if (!pending) {
        pending = fetchToken(host, provider).finally(() => inFlight.delete(host));
        inFlight.set(host, pending);
      }
      return pending;
    },
    invalidate: (host) => {
      cache.delete(host);
    },
  };
}
