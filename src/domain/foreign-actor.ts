/**
 * How an agent of another trust domain is named here (ADR 0025). An actor that crossed a domain
 * border is qualified by the issuer that vouched for it: `agent-a@https://as.a.example`. No agent
 * id of this service can hold `@` (identifiers.ts), so a foreign actor can never pose as a local
 * agent, and a chain that comes back home unqualifies its own agents again, so a cycle that
 * crosses the border (A → B → A) is seen like any other.
 */

const QUALIFIER = '@';

/** True for a name that carries its domain: an actor this registry does not answer for. */
export function isQualifiedActor(id: string): boolean {
  return id.includes(QUALIFIER);
}

/**
 * The name here of an actor in a grant issued by `peerIssuer`: one already qualified by an
 * earlier domain keeps its name, one qualified by this service is one of ours again, and an
 * unqualified one is the peer's own agent.
 */
export function actorNameHere(actor: string, peerIssuer: string, ownIssuer: string): string {
  const ownSuffix = `${QUALIFIER}${ownIssuer}`;
  if (actor.endsWith(ownSuffix) && actor.length > ownSuffix.length) {
    return actor.slice(0, -ownSuffix.length);
  }
  if (isQualifiedActor(actor)) return actor;
  return `${actor}${QUALIFIER}${peerIssuer}`;
}

/** ADR 0025 subject mapping: `preserve` keeps the grant's `sub`; `qualify` names the peer. */
export type SubjectMapping = 'preserve' | 'qualify';

export function subjectNameHere(sub: string, mapping: SubjectMapping, peerIssuer: string): string {
  return mapping === 'qualify' ? `${sub}${QUALIFIER}${peerIssuer}` : sub;
}
