import { refuse } from './refusal.js';
import type { AgentPolicy, Refusal, VerifiedToken } from './types.js';

/** RFC 8693 §4.4: when the subject token says who may act for it, the actor must be among them (DC-03). */
export function checkMayAct(subject: VerifiedToken, actorAgent: AgentPolicy): Refusal | null {
  if (subject.mayActSubjects === null || subject.mayActSubjects.includes(actorAgent.id)) return null;
  return refuse(
    'may_act_mismatch',
    'invalid_request',
    'subject token does not allow this client to act for it',
  );
}
