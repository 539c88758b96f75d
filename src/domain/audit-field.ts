/**
 * What a stored record may hold of a value that came from a request: every field of an audit row
 * (and of any other row written on a refusal) passes through `auditField` first. A caller chooses
 * what it sends, so without this a 50 KB `grant_type` would become a 50 KB row in an append-only
 * table, and a NUL byte (which PostgreSQL `text` cannot store) would make the insert fail and the
 * refusal vanish from the log.
 */

/** The longest a stored request-derived field is, in characters, before its truncation marker. */
export const AUDIT_FIELD_MAX_CHARS = 256;
/** Descriptions hold a rule's detail beside the public text: a little more room. */
export const AUDIT_DESCRIPTION_MAX_CHARS = 512;
/** Stands in for each control character: visible, and storable in every text column. */
export const CONTROL_CHARACTER_REPLACEMENT = '\uFFFD';

/**
 * Unicode category Cc: the C0 controls (NUL, CR, LF, TAB, ESC, …), DEL and the C1 controls. None
 * is ever part of an OAuth value.
 */
const CONTROL_CHARACTERS = /\p{Cc}/u;
const CONTROL_CHARACTERS_GLOBAL = /\p{Cc}/gu;
/** A UTF-16 surrogate with no partner cannot be encoded as UTF-8; it is replaced too. */
const LONE_SURROGATES = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/gu;

/** Whether `value` holds a control character: such a value is refused, never stored as given. */
export function hasControlCharacter(value: string): boolean {
  return CONTROL_CHARACTERS.test(value);
}

/** The marker that ends a truncated field: says so, and how much was cut. */
export function truncationMarker(omittedChars: number): string {
  return `…[+${omittedChars} chars]`;
}

/**
 * The storable form of a request-derived value: control characters (NUL included) and unpaired
 * surrogates replaced by U+FFFD, then at most `maxChars` characters (code points, so a pair is
 * never split) followed by a marker naming how many were cut. Null stays null.
 */
export function auditField(
  value: string | null | undefined,
  maxChars: number = AUDIT_FIELD_MAX_CHARS,
): string | null {
  if (value === null || value === undefined) return null;
  const clean = value
    .replace(CONTROL_CHARACTERS_GLOBAL, CONTROL_CHARACTER_REPLACEMENT)
    .replace(LONE_SURROGATES, CONTROL_CHARACTER_REPLACEMENT);
  // Fast path: no code point count is needed while the UTF-16 length is within the cap.
  if (clean.length <= maxChars) return clean;
  const codePoints = Array.from(clean);
  if (codePoints.length <= maxChars) return clean;
  return codePoints.slice(0, maxChars).join('') + truncationMarker(codePoints.length - maxChars);
}

/**
 * The name of the first recognised request parameter whose value (or one of whose repeated
 * values) holds a control character; null when none does. Callers pass only parameters they
 * recognise (RFC 6749 §3.2 ignores the rest), so the name is never the caller's own text. Such a request is refused as `invalid_request`
 * (RFC 6749 §5.2: a malformed parameter), before anything is looked up or spent.
 */
export function parameterWithControlCharacter(params: Readonly<Record<string, unknown>>): string | null {
  for (const [name, value] of Object.entries(params)) {
    const values: unknown[] = Array.isArray(value) ? value : [value];
    if (values.some((item) => typeof item === 'string' && hasControlCharacter(item))) return name;
  }
  return null;
}

/**
 * The JSON Pointer (RFC 6901) of the first string, or object key, in `value` that holds a NUL
 * character, which neither PostgreSQL `text` nor `jsonb` can store; null when there is none. Walks
 * with its own stack, so a deeply nested document cannot exhaust the call stack.
 */
export function nulCharacterPath(value: unknown): string | null {
  const pending: { readonly value: unknown; readonly path: string }[] = [{ value, path: '' }];
  const escape = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { value: current, path } = next;
    if (typeof current === 'string') {
      if (current.includes('\u0000')) return path || '/';
    } else if (typeof current === 'object' && current !== null) {
      for (const [key, child] of Object.entries(current)) {
        const childPath = `${path}/${escape(key)}`;
        if (key.includes('\u0000')) return childPath;
        pending.push({ value: child, path: childPath });
      }
    }
  }
  return null;
}
