/**
 * What a URL in a message (destination, callback) may be: one the URL parser takes exactly as written.
 * The parser silently drops tabs and newlines and trims control characters and spaces, so such a URL
 * would be called as something other than what the sender wrote. Pure: the workflow checks with it too.
 */
import { describeCharacter } from './header-rules';
import type { FieldError } from './field-error';

/** C0 controls, space, DEL, C1 controls and any other whitespace: never part of a URL as sent. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const FORBIDDEN_URL_CHARACTER = /[\u0000-\u0020\u007f-\u009f\s]/u;

/** Why a URL cannot be used as given (for the field `field`), as field errors; none when it can. */
export function urlErrors(url: string, field: string): FieldError[] {
  const found = FORBIDDEN_URL_CHARACTER.exec(url);
  if (found) {
    const code = found[0].codePointAt(0) ?? 0;
    return [
      {
        field,
        message: `contains ${describeCharacter(code)} at position ${found.index}; a URL may not hold control characters or whitespace (percent-encode them)`,
      },
    ];
  }
  try {
    new URL(url);
  } catch {
    return [{ field, message: 'is not a URL (an absolute URL such as https://api.example.com/hooks)' }];
  }
  return [];
}
