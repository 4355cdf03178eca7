/**
 * A body kept outside Temporal: above HERALD_INLINE_BODY_BYTES a message's body (or a reply's) lives in
 * the blob store and the workflow carries only this reference. Pure (the workflow validates it).
 */
import { Type, type Static } from '@sinclair/typebox';

/** `blob_` and 26 base32 characters: also a safe file name. */
export const BLOB_ID_PATTERN = '^blob_[0-9a-z]{26}$';

export const BlobRefSchema = Type.Object(
  {
    id: Type.String({ pattern: BLOB_ID_PATTERN }),
    size: Type.Integer({ minimum: 0, description: 'bytes' }),
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'SHA-256 of the bytes, hex' }),
    contentType: Type.String({ minLength: 1, maxLength: 255 }),
  },
  { additionalProperties: false, description: 'a body kept in Herald’s blob store, by reference' },
);
export type BlobRef = Static<typeof BlobRefSchema>;

/** What a blob is: a message's body, or the body of a reply to it. */
export const BLOB_KINDS = ['body', 'reply'] as const;
export type BlobKind = (typeof BLOB_KINDS)[number];
