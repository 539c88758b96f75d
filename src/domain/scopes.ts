import { accept, refuse } from './refusal.js';
import type { Result } from './types.js';

/** More scope tokens than this in one request is refused before any other work (RL-02). */
export const MAX_SCOPE_TOKENS = 100;

/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/**
 * Parses the `scope` request parameter (RFC 6749 §3.3). Absent: `null` (the caller asked for
 * nothing in particular, which is not the same as asking for nothing). Tokens are separated by
 * spaces; runs of spaces are tolerated, duplicates are dropped and the first occurrence's order is
 * kept.
 */
export function parseScopeParameter(raw: string | undefined): Result<string[] | null> {
  if (raw === undefined) return accept(null);
  const tokens = raw.split(' ').filter((token) => token !== '');
  if (tokens.length === 0) {
    return refuse('invalid_parameters', 'invalid_scope', 'scope parameter is empty');
  }
  if (tokens.length > MAX_SCOPE_TOKENS) {
    return refuse('invalid_parameters', 'invalid_request', 'scope parameter has too many values');
  }
  if (!tokens.every((token) => SCOPE_TOKEN.test(token))) {
    return refuse('invalid_parameters', 'invalid_scope', 'scope parameter is malformed');
  }
  return accept([...new Set(tokens)]);
}

/** The `scope` claim and response member: space-separated (RFC 6749 §3.3, RFC 9068 §2.2.3). */
export function formatScopes(scopes: readonly string[]): string {
  return scopes.join(' ');
}
