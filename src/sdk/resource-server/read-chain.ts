/**
 * RFC 8693 §4.1: `act` nests the delegation chain, the current actor outermost. This reads it into
 * a list, newest actor first; a chain that is not a nest of objects with a string `sub` makes the
 * token invalid rather than silently shorter.
 */
import { AgentTokenError } from './errors.js';

export interface Actor {
  /** The actor's `sub`: an agent id. */
  readonly subject: string;
  /** The actor's `iss`, when the chain names one. */
  readonly issuer?: string;
}

/** A bound on nesting, well above any chain agent-sts issues (its service limit). */
const MAX_NESTING = 32;

export function readChain(act: unknown): Actor[] {
  const actors: Actor[] = [];
  for (let level = act; level !== undefined;) {
    if (typeof level !== 'object' || level === null || Array.isArray(level)) {
      throw new AgentTokenError('token_claims_invalid', 'act is not an object');
    }
    const { sub, iss, act: next } = level as Record<string, unknown>;
    if (typeof sub !== 'string' || sub === '')
      throw new AgentTokenError('token_claims_invalid', 'act has no sub');
    if (iss !== undefined && typeof iss !== 'string') {
      throw new AgentTokenError('token_claims_invalid', 'act iss is not a string');
    }
    actors.push(iss === undefined ? { subject: sub } : { subject: sub, issuer: iss });
    if (actors.length > MAX_NESTING)
      throw new AgentTokenError('token_claims_invalid', 'act is nested too deeply');
    level = next;
  }
  return actors;
}
