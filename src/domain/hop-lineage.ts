import { chainParticipants } from './chain-liveness.js';
import { depthAfterHop, inheritedDepthLimit } from './delegation-depth.js';
import type { IssueDecision, VerifiedToken } from './types.js';

/** What every hop inherits from its subject token and records in lineage, whatever it issues. */
export type HopLineage = Pick<
  IssueDecision,
  'depth' | 'depthLimit' | 'rootIssuer' | 'txn' | 'parentJti' | 'chainAgents'
>;

/**
 * The lineage of a hop by `actor` from `subject` (RFC 8693 §4.1): one more actor in the chain, the
 * depth limit and the trusted issuer the chain started from, and, for one of this service's own
 * tokens, its chain id (`txn`, the same for every token derived from one root token) and parent.
 */
export function hopLineage(subject: VerifiedToken, actor: string): HopLineage {
  const ownToken = subject.origin.kind === 'self';
  return {
    depth: depthAfterHop(subject),
    depthLimit: inheritedDepthLimit(subject),
    rootIssuer:
      subject.origin.kind === 'trusted_issuer'
        ? subject.origin.issuer
        : (subject.lineage?.rootIssuer ?? null),
    txn: ownToken ? subject.txn : null,
    parentJti: ownToken ? subject.jti : null,
    chainAgents: [...chainParticipants(subject), actor],
  };
}
