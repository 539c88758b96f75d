/**
 * The resource's own delegation policy, checked after the token is known to be genuine: how many
 * agents may stand between the subject and this resource, which agents may or may not be among
 * them, and a callback for anything else (a particular order, a time of day, a txn allow list).
 */
import { AgentTokenError } from './errors.js';
import type { AgentToken } from './verify-agent-token.js';

export interface ChainPolicy {
  /** Most actors in `act` (an agent's own token has depth 0). */
  readonly maxDepth?: number;
  /** Every actor in the chain must be one of these agent ids. */
  readonly allowedActors?: readonly string[];
  /** No actor in the chain may be one of these agent ids. */
  readonly forbiddenActors?: readonly string[];
  /** Anything else: resolve false to refuse the token (`chain_refused`). */
  readonly check?: (token: AgentToken) => boolean | Promise<boolean>;
}

export async function checkChain(token: AgentToken, policy: ChainPolicy): Promise<void> {
  const actors = token.actors.map((actor) => actor.subject);
  if (policy.maxDepth !== undefined && actors.length > policy.maxDepth) {
    throw new AgentTokenError('chain_too_deep', `the delegation chain is deeper than ${policy.maxDepth}`);
  }
  const allowed = policy.allowedActors;
  if (allowed && actors.some((actor) => !allowed.includes(actor))) {
    throw new AgentTokenError(
      'chain_actor_not_allowed',
      'the delegation chain holds an agent this resource does not accept',
    );
  }
  const forbidden = policy.forbiddenActors;
  if (forbidden && actors.some((actor) => forbidden.includes(actor))) {
    throw new AgentTokenError(
      'chain_actor_forbidden',
      'the delegation chain holds an agent this resource refuses',
    );
  }
  if (policy.check && !(await policy.check(token))) {
    throw new AgentTokenError('chain_refused', 'the delegation chain is refused by this resource');
  }
}
