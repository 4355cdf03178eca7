/** One reason an input is invalid. Sandbox-safe: a TypeBox schema and its type. */
import { Type, type Static } from '@sinclair/typebox';

/** `field` is a JSON pointer such as `/destination/url` (prefixed `query:` or `params:` by the API). */
export const FieldErrorSchema = Type.Object({ field: Type.String(), message: Type.String() });
export type FieldError = Static<typeof FieldErrorSchema>;
