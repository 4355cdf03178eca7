/**
 * The operator console at /console: a static page and its two bundled files, served with a Content
 * Security Policy that allows only this origin's own script, styles and API (no inline script or style,
 * no CDN). The page needs no key; every call it makes to the API carries the key the operator typed.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { consoleAssets } from '../console-assets';
import { ProblemError } from '../problem';

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const escapeAttribute = (value: string) => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

export const consoleRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { config } = app;
  // The API must start even when the console cannot be had (no dist/console and no esbuild, say): then
  // /console answers 503 naming why, and nothing else changes.
  let assets: Awaited<ReturnType<typeof consoleAssets>>;
  try {
    assets = await consoleAssets();
  } catch (error) {
    app.log.error({ err: error }, 'the console could not be bundled: /console answers 503');
    const unavailable = async () => {
      throw new ProblemError('not-ready', `the console is not built: ${(error as Error).message} (npm run build)`);
    };
    app.get('/console', { config: { public: true }, schema: { hide: true } }, unavailable);
    return;
  }
  // Where the page links a message to the Temporal Web UI (empty: no link), as data on <body>, not script.
  const page = Buffer.from(
    assets['index.html']
      .toString('utf8')
      // A function, so `$&` and its kind in a configured value are text, not replacement patterns.
      .replace(
        '<body>',
        () =>
          `<body data-temporal-ui="${escapeAttribute(config.temporal.webUiUrl)}" data-namespace="${escapeAttribute(config.temporal.namespace)}">`,
      ),
  );
  const send = (reply: FastifyReply, type: string, body: Buffer) =>
    reply
      .header('content-security-policy', CONSOLE_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-cache')
      .type(type)
      .send(body);
  const hidden = { config: { public: true }, schema: { hide: true } } as const;

  app.get('/console', hidden, async (_request, reply) => send(reply, 'text/html; charset=utf-8', page));
  app.get('/console/', hidden, async (_request, reply) => send(reply, 'text/html; charset=utf-8', page));
  app.get(
    '/console/assets/:file',
    { ...hidden, schema: { hide: true, params: Type.Object({ file: Type.String({ maxLength: 40 }) }) } },
    async (request, reply) => {
      const { file } = request.params;
      if (file === 'console.js') return send(reply, 'text/javascript; charset=utf-8', assets['console.js']);
      if (file === 'console.css') return send(reply, 'text/css; charset=utf-8', assets['console.css']);
      throw new ProblemError('not-found', `no console file ${file}`);
    },
  );
};
