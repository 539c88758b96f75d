import { refuse } from './refusal.js';
import type { AgentPolicy, Refusal, VerifiedToken } from './types.js';

/**
 * RFC 9449 §5.2 `dpop_bound_access_tokens`: an agent registered for DPoP-bound tokens is issued
 * none without a proof, so none of its tokens can be a bearer token (CA-11).
 */
export function checkProofRequired(agent: AgentPolicy, proofJkt: string | null): Refusal | null {
  if (proofJkt !== null || !agent.dpopBoundAccessTokens) return null;
  return refuse('dpop_proof_missing', 'invalid_dpop_proof', 'this client must send a DPoP proof');
}

const BINDING_MISMATCH = {
  subject_token: 'subject_token_binding_mismatch',
  actor_token: 'actor_token_binding_mismatch',
} as const;

/**
 * RFC 9449 §6, RFC 7800 §3: a bound token is accepted only from the holder of its key, so a stolen
 * one cannot be exchanged by anyone else. The request's DPoP proof must be signed with the key the
 * token names (`cnf.jkt`); a token bound by a method this service cannot check is never accepted.
 */
export function checkTokenHolder(
  token: VerifiedToken | null,
  role: keyof typeof BINDING_MISMATCH,
  proofJkt: string | null,
): Refusal | null {
  const binding = token?.binding ?? { kind: 'none' };
  switch (binding.kind) {
    case 'none':
      return null;
    case 'jkt':
      if (binding.jkt === proofJkt) return null;
      return refuse(
        BINDING_MISMATCH[role],
        'invalid_request',
        proofJkt === null
          ? `${role} is DPoP-bound: send a DPoP proof signed with its key`
          : `${role} is bound to another DPoP key than the proof's`,
      );
    case 'unsupported':
      return refuse(
        BINDING_MISMATCH[role],
        'invalid_request',
        `${role} is bound by a confirmation method this service cannot check`,
      );
  }
}
