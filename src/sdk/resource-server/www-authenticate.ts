/**
 * The `WWW-Authenticate` challenges of a refusal: one per scheme this resource accepts (RFC 9110
 * §11.6.1), `Bearer` (RFC 6750 §3) and `DPoP` with its `algs` (RFC 9449 §7.1). The error code and
 * description go on the challenge of the scheme the client used; a request without credentials
 * gets no error code (RFC 6750 §3.1). `resource_metadata` points clients at the RFC 9728 document.
 */
import type { AgentTokenError } from './errors.js';
import type { AuthorizationScheme } from './read-credentials.js';
import { DEFAULT_DPOP_ALGORITHMS } from './verify-dpop-proof.js';

export interface ChallengeOptions {
  /** The scheme the request used, when it used one. */
  readonly scheme?: AuthorizationScheme | undefined;
  readonly realm?: string;
  /** RFC 9728 §5.1: the URL of this resource's protected-resource metadata. */
  readonly resourceMetadata?: string | URL;
  /** Offer the Bearer scheme. Default true (false when only DPoP-bound tokens are accepted). */
  readonly bearer?: boolean;
  /** Offer the DPoP scheme with these `algs`; false to not offer it. Default agent-sts' proof algs. */
  readonly dpopAlgorithms?: readonly string[] | false;
}

function quote(value: string): string {
  return `"${value.replace(/[\\"]/g, '\\$&').replace(/[^\x20-\x7e]/g, '')}"`;
}

function challenge(scheme: string, params: ReadonlyArray<readonly [string, string | undefined]>): string {
  const present = params.filter((param): param is readonly [string, string] => param[1] !== undefined);
  return present.length === 0
    ? scheme
    : `${scheme} ${present.map(([name, value]) => `${name}=${quote(value)}`).join(', ')}`;
}

/** The challenges to send, one string each, for a refusal (or for `undefined`: no credentials). */
export function wwwAuthenticate(
  error: AgentTokenError | undefined,
  options: ChallengeOptions = {},
): string[] {
  const offersBearer = options.bearer ?? true;
  const algs = options.dpopAlgorithms ?? DEFAULT_DPOP_ALGORITHMS;
  const offersDpop = algs !== false;
  const errorScheme: AuthorizationScheme =
    error?.error === 'invalid_dpop_proof' || (!offersBearer && offersDpop)
      ? 'DPoP'
      : (options.scheme ?? 'Bearer');
  const common = (scheme: AuthorizationScheme): Array<readonly [string, string | undefined]> => {
    const withError = error?.error !== undefined && scheme === errorScheme;
    return [
      ['realm', options.realm],
      ['resource_metadata', options.resourceMetadata?.toString()],
      ['error', withError ? error.error : undefined],
      ['error_description', withError ? error.message : undefined],
      ['scope', withError && error.requiredScopes ? error.requiredScopes.join(' ') : undefined],
    ];
  };
  const challenges: string[] = [];
  if (offersBearer) challenges.push(challenge('Bearer', common('Bearer')));
  if (offersDpop) challenges.push(challenge('DPoP', [...common('DPoP'), ['algs', algs.join(' ')]]));
  return challenges;
}
