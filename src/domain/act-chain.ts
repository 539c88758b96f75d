import { accept, refuse } from './refusal.js';
import type { ActClaim, Result } from './types.js';

/**
 * RFC 8693 §4.1: builds the `act` claim from the chain, oldest actor first, so that the newest
 * actor is outermost. Only `sub` is carried (TO-04). `null` for an empty chain.
 */
export function buildActClaim(actorsOldestFirst: readonly string[]): ActClaim | null {
  let claim: ActClaim | null = null;
  for (const sub of actorsOldestFirst) {
    claim = claim === null ? { sub } : { sub, act: claim };
  }
  return claim;
}

/**
 * Flattens an untrusted `act` claim (RFC 8693 §4.1) into its actors, oldest first. Iterative and
 * bounded by `maxDepth`, so a hostile claim nested 10,000 levels deep fails after `maxDepth + 1`
 * steps (DC-06, RL-03). Every level must be a plain object with a non-empty string `sub`; every
 * other member is ignored (TO-04). An absent claim (`undefined`) is an empty chain.
 */
export function flattenActClaim(raw: unknown, maxDepth: number): Result<string[]> {
  const newestFirst: string[] = [];
  let level = raw;
  while (level !== undefined) {
    if (newestFirst.length >= maxDepth) {
      return refuse('subject_token_invalid', 'invalid_request', 'act claim is nested deeper than allowed');
    }
    if (!isPlainObject(level)) {
      return refuse('subject_token_invalid', 'invalid_request', 'act claim is malformed');
    }
    const sub = ownMember(level, 'sub');
    if (typeof sub !== 'string' || sub === '') {
      return refuse('subject_token_invalid', 'invalid_request', 'act claim is missing a subject');
    }
    newestFirst.push(sub);
    level = ownMember(level, 'act');
  }
  return accept(newestFirst.reverse());
}

function isPlainObject(value: unknown): value is object {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** Own members only: nothing inherited can pose as `sub` or `act`. */
function ownMember(value: object, name: string): unknown {
  return Object.hasOwn(value, name) ? (value as Record<string, unknown>)[name] : undefined;
}
