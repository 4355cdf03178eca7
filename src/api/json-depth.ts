/**
 * A limit on how deeply request JSON may nest, checked on the raw text before anything parses it.
 * JSON.parse copes with deep nesting, but what comes after recurses (schema validation, content
 * hashing, Temporal's payload converter): 10,000 levels ran out of stack there and answered 500.
 */

/**
 * Deepest nesting of objects and arrays a request body may have. Real messages nest a handful of
 * levels (the message, its body, the sender's own document); 64 leaves senders plenty of room and
 * stays far below where recursive code runs out of stack.
 */
export const MAX_JSON_DEPTH = 64;

/** Whether JSON text nests objects and arrays deeper than `max`; one pass, no parsing, strings skipped. */
export function jsonNestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === 0x5c /* \ */) i++;
      else if (char === 0x22 /* " */) inString = false;
    } else if (char === 0x22) {
      inString = true;
    } else if (char === 0x7b /* { */ || char === 0x5b /* [ */) {
      depth++;
      if (depth > max) return true;
    } else if (char === 0x7d /* } */ || char === 0x5d /* ] */) {
      depth--;
    }
  }
  return false;
}
