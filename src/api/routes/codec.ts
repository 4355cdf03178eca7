/**
 * The codec endpoint (Temporal's remote codec protocol): `POST /codec/decode` and `/codec/encode` run
 * payloads through Herald's encryption codec, so `temporal workflow show --codec-endpoint` and the
 * Temporal Web UI show decoded payloads to an operator with an API key, and nobody else.
 *
 * Auth: `Authorization: Bearer <API key>` (the CLI's `--codec-auth`), or the session cookie that
 * `POST /codec/session` sets after checking a key once (the Web UI sends cookies, not headers, once
 * "Include cross-origin credentials" is on). CORS: only the origins in HERALD_CODEC_CORS_ORIGINS, with
 * credentials; written here rather than with @fastify/cors because it is one prefix with one rule, and
 * every other route must stay without CORS.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createApiKeyVerifier, type Caller } from '../auth';
import { requireRole } from '../access';
import { SealedValueError } from '../../encryption/aes-gcm';
import {
  CODEC_SESSION_COOKIE,
  CODEC_SESSION_TTL_MS,
  issueCodecSession,
  verifyCodecSession,
} from '../../encryption/codec-session';
import { EncryptionCodec } from '../../encryption/payload-codec';
import { ProblemError } from '../problem';
import { problemResponses as problems } from '../schemas';

/** Proto3 JSON of a Payload: every bytes field base64. */
const WirePayload = Type.Object({
  metadata: Type.Optional(Type.Record(Type.String(), Type.String({ contentEncoding: 'base64' }))),
  data: Type.Optional(Type.String({ contentEncoding: 'base64' })),
});
// Protobuf JSON leaves an empty list out: the CLI encodes a query with no arguments as `{}`.
const Payloads = Type.Object({ payloads: Type.Optional(Type.Array(WirePayload, { maxItems: 10_000 })) });
type WirePayloadType = { metadata?: Record<string, string>; data?: string };

/** A history page holds many payloads: more than a message's own body limit. */
const CODEC_BODY_LIMIT = 16 * 1024 * 1024;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function fromBase64(value: string, field: string): Uint8Array {
  if (!BASE64.test(value)) throw new ProblemError('validation-failed', `${field} is not base64`);
  return Buffer.from(value, 'base64');
}

function fromWire(payload: WirePayloadType, index: number) {
  const metadata: Record<string, Uint8Array> = {};
  for (const [key, value] of Object.entries(payload.metadata ?? {})) {
    metadata[key] = fromBase64(value, `payloads[${index}].metadata.${key}`);
  }
  return { metadata, data: fromBase64(payload.data ?? '', `payloads[${index}].data`) };
}

function toWire(payload: { metadata?: Record<string, Uint8Array> | null; data?: Uint8Array | null }): WirePayloadType {
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(payload.metadata ?? {}))
    metadata[key] = Buffer.from(value).toString('base64');
  return { metadata, data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64') };
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}

export const codecRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { config } = app;
  const { keyring, codecCorsOrigins } = config.encryption;
  const codec = keyring ? new EncryptionCodec(keyring) : undefined;
  const encryptionOff = () =>
    new ProblemError('encryption-off', 'payloads are not encrypted: HERALD_ENCRYPTION_KEYS is not set');
  const keyRequired = () => new ProblemError('unauthorized', 'send an API key as "Authorization: Bearer <key>"');
  const verifyKey = createApiKeyVerifier(config.api.keys);
  const allowed = new Set(codecCorsOrigins);
  const keysByName = new Map(config.api.keys.map((key) => [key.name, { name: key.name, roles: key.roles }]));
  // Behind a TLS terminator the request looks like http: a UI served over https means the cookie is too.
  const secureCookie = codecCorsOrigins.some((origin) => origin.startsWith('https://'));

  /** CORS headers for an allowed origin; a request from another origin gets none (the browser refuses it). */
  function corsFor(request: FastifyRequest, reply: FastifyReply): void {
    void reply.header('vary', 'Origin');
    const origin = request.headers.origin;
    if (origin && allowed.has(origin)) {
      void reply.header('access-control-allow-origin', origin);
      void reply.header('access-control-allow-credentials', 'true');
    }
  }

  /** The API key behind the request: its Bearer key, or its session cookie. */
  function authenticate(request: FastifyRequest): Caller {
    const byKey = verifyKey(request.headers.authorization);
    if (byKey) return byKey;
    const session = cookieValue(request.headers.cookie, CODEC_SESSION_COOKIE);
    const bySession = session && keyring ? verifyCodecSession(keyring, session) : undefined;
    // A key removed from HERALD_API_KEYS ends its sessions too, and a session has the key's roles of now.
    const caller = bySession ? keysByName.get(bySession) : undefined;
    if (caller) return caller;
    throw new ProblemError(
      'unauthorized',
      'send an API key as "Authorization: Bearer <key>", or sign in once with POST /codec/session',
    );
  }

  function requireCodec(): EncryptionCodec {
    if (!codec) throw encryptionOff();
    return codec;
  }

  function checkNamespace(request: FastifyRequest): void {
    const namespace = request.headers['x-namespace'];
    if (typeof namespace === 'string' && namespace !== '' && namespace !== config.temporal.namespace) {
      throw new ProblemError('not-found', `this codec serves namespace ${config.temporal.namespace}, not ${namespace}`);
    }
  }

  // Before the body is parsed: a caller without a key learns only that (401), whatever it sent.
  app.addHook('onRequest', async (request, reply) => {
    corsFor(request, reply);
    if (request.method !== 'POST') return;
    let caller: Caller | undefined;
    if (request.routeOptions.url === '/codec/session') {
      caller = verifyKey(request.headers.authorization);
      if (!caller) throw keyRequired();
    } else {
      caller = authenticate(request);
    }
    // The codec opens every message's payloads, so it is for keys that may read every message.
    requireRole(caller, ['operator', 'reader'], 'the codec endpoint');
    request.caller = caller;
  });

  for (const path of ['/codec/decode', '/codec/encode', '/codec/session']) {
    app.options(path, { config: { public: true }, schema: { hide: true } }, async (request, reply) => {
      const origin = request.headers.origin;
      if (!origin || !allowed.has(origin)) {
        throw new ProblemError(
          'forbidden',
          `origin ${origin ?? '(none)'} may not call the codec endpoint: add it to HERALD_CODEC_CORS_ORIGINS`,
        );
      }
      return reply
        .header('access-control-allow-methods', 'POST, OPTIONS')
        .header('access-control-allow-headers', 'content-type, x-namespace, authorization')
        .header('access-control-max-age', '600')
        .status(204)
        .send();
    });
  }

  const codecSchema = (operationId: string, summary: string, description: string) => ({
    operationId,
    summary,
    description,
    tags: ['codec'],
    body: Payloads,
    response: { 200: Payloads, ...problems(400, 401, 403, 404) },
  });

  app.post(
    '/codec/decode',
    {
      config: { public: true },
      bodyLimit: CODEC_BODY_LIMIT,
      schema: codecSchema(
        'codecDecode',
        'Decode payloads (Temporal remote codec)',
        'Decrypts payloads encrypted by Herald; others pass through unchanged. For `temporal workflow show --codec-endpoint <api>/codec --codec-auth "Bearer <key>"` and the Temporal Web UI. An API key, or the cookie of POST /codec/session.',
      ),
    },
    async (request) => {
      checkNamespace(request);
      const payloads = (request.body.payloads ?? []).map(fromWire);
      try {
        return { payloads: (await requireCodec().decode(payloads)).map(toWire) };
      } catch (error) {
        if (error instanceof SealedValueError) throw new ProblemError('payload-not-decodable', error.message);
        throw error;
      }
    },
  );

  app.post(
    '/codec/encode',
    {
      config: { public: true },
      bodyLimit: CODEC_BODY_LIMIT,
      schema: codecSchema(
        'codecEncode',
        'Encode payloads (Temporal remote codec)',
        'Encrypts payloads with the current key, as Herald does: what the Web UI and CLI send to a workflow (a signal, a start) stays encrypted too.',
      ),
    },
    async (request) => {
      checkNamespace(request);
      return { payloads: (await requireCodec().encode((request.body.payloads ?? []).map(fromWire))).map(toWire) };
    },
  );

  app.post(
    '/codec/session',
    {
      config: { public: true },
      schema: {
        operationId: 'codecSession',
        summary: 'Sign a browser in to the codec endpoint',
        description:
          'Checks the API key in `Authorization` and sets an HttpOnly session cookie for /codec (12 h), so that the Temporal Web UI, with "Include cross-origin credentials" on in its codec settings, decodes payloads in this browser.',
        tags: ['codec'],
        response: {
          200: Type.Object({ name: Type.String(), expiresAt: Type.String({ format: 'date-time' }) }),
          ...problems(401, 403, 404),
        },
      },
    },
    async (request, reply) => {
      const name = request.caller!.name;
      const ring = keyring;
      if (!ring) throw encryptionOff();
      const now = Date.now();
      const secure = request.protocol === 'https' || secureCookie ? '; Secure' : '';
      void reply.header(
        'set-cookie',
        `${CODEC_SESSION_COOKIE}=${issueCodecSession(ring, name, now)}; Path=/codec; HttpOnly; SameSite=Lax; Max-Age=${CODEC_SESSION_TTL_MS / 1000}${secure}`,
      );
      return { name, expiresAt: new Date(now + CODEC_SESSION_TTL_MS).toISOString() };
    },
  );
};
