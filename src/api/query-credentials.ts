/**
 * API keys never travel in a URL: query strings end up in access logs, proxies and browser history.
 * A request with a key-like query parameter is refused, and logged URLs never carry query values.
 */
import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { ProblemError } from './problem';

/** Query parameter names under which clients commonly send credentials (compared ignoring case, `-` as `_`). */
const KEY_LIKE_PARAMETERS = new Set([
  'api_key',
  'apikey',
  'key',
  'token',
  'access_token',
  'accesstoken',
  'auth',
  'authorization',
  'bearer',
  'x_api_key',
  'secret',
]);

/** The names of a raw query string's parameters (undecodable ones as written). */
function parameterNames(query: string): string[] {
  return query
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const name = pair.split('=', 1)[0] ?? '';
      try {
        return decodeURIComponent(name.replace(/\+/g, ' '));
      } catch {
        return name;
      }
    });
}

/** The first query parameter of a request URL that looks like a credential, if any. */
export function keyLikeQueryParameter(url: string): string | undefined {
  const query = url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
  return parameterNames(query).find((name) => KEY_LIKE_PARAMETERS.has(name.toLowerCase().replace(/-/g, '_')));
}

/** Throws a 400 when the request carries a key-like query parameter. */
export function refuseKeyInQuery(url: string): void {
  const parameter = keyLikeQueryParameter(url);
  if (parameter === undefined) return;
  throw new ProblemError(
    'api-key-in-query',
    `do not send credentials in the URL (query parameter "${parameter}"); send the API key as "Authorization: Bearer <key>"`,
    { errors: [{ field: `query:/${parameter}`, message: 'credentials are not accepted in the query string' }] },
  );
}

/**
 * A URL as it may be logged: the path, and for the query only its parameter names, each value
 * redacted. A name that could itself be a key (16 characters or more, the shortest API key, or
 * anything but letters, digits, `_`, `-` and `.`) is redacted too.
 */
export function loggableUrl(url: string): string {
  const mark = url.indexOf('?');
  if (mark < 0) return url;
  const names = url
    .slice(mark + 1)
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => pair.split('=', 1)[0] ?? '')
    .map((name) => (/^[A-Za-z0-9_.-]{1,15}$/.test(name) ? `${name}=[redacted]` : '[redacted]'));
  return `${url.slice(0, mark)}?${names.join('&')}`;
}

/** pino's view of a request in Fastify's request log, with the URL made loggable (see loggableUrl). */
function requestWithLoggableUrl(request: FastifyRequest) {
  return {
    method: request.method,
    url: loggableUrl(request.url),
    version: request.headers?.['accept-version'],
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

/** The logger for the app: the given one, with Fastify's request serializer replaced by one that redacts query strings. */
export function withLoggableUrls(logger: Logger): Logger {
  return logger.child({}, { serializers: { req: requestWithLoggableUrl } });
}
