/**
 * Reads the access token and DPoP proof a request presents: `Authorization: Bearer <token>`
 * (RFC 6750 §2.1) or `Authorization: DPoP <token>` with one `DPoP` proof header (RFC 9449 §7.1).
 * Tokens in a query string or a form body (RFC 6750 §2.2, §2.3) are not read.
 */
import { AgentTokenError } from './errors.js';

export type AuthorizationScheme = 'Bearer' | 'DPoP';

/** A header as Node and the frameworks give it: absent, one value, or repeated values. */
export type HeaderValue = string | readonly string[] | undefined;

export interface PresentedCredentials {
  readonly scheme: AuthorizationScheme;
  readonly token: string;
  /** The `DPoP` header, when there is exactly one. */
  readonly proof: string | undefined;
}

// RFC 6750 §2.1 b64token.
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

function single(value: HeaderValue, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (value.length > 1) throw new AgentTokenError('request_malformed', `more than one ${name} header`);
  return value[0];
}

function readProof(value: HeaderValue): string | undefined {
  // RFC 9449 §4.3 check 1: not more than one DPoP header. Node joins repeated ones with commas.
  const values = typeof value === 'string' ? [value] : (value ?? []);
  if (values.length === 0) return undefined;
  if (values.length > 1 || !COMPACT_JWS.test(values[0]!.trim())) {
    throw new AgentTokenError(
      'dpop_proof_invalid',
      'exactly one DPoP proof header, a compact JWS, is required',
    );
  }
  return values[0]!.trim();
}

export function readCredentials(headers: {
  authorization?: HeaderValue;
  dpop?: HeaderValue;
}): PresentedCredentials {
  const authorization = single(headers.authorization, 'Authorization');
  if (authorization === undefined || authorization.trim() === '') {
    throw new AgentTokenError('token_missing', 'no access token');
  }
  const match = /^([A-Za-z]+) +(\S+)$/.exec(authorization.trim());
  const scheme = match?.[1]?.toLowerCase();
  if (!match || (scheme !== 'bearer' && scheme !== 'dpop')) {
    // Another scheme (Basic, ...) presents no access token at all.
    if (match && scheme) throw new AgentTokenError('token_missing', 'no Bearer or DPoP access token');
    throw new AgentTokenError('request_malformed', 'malformed Authorization header');
  }
  const token = match[2]!;
  if (!TOKEN68.test(token)) throw new AgentTokenError('request_malformed', 'malformed Authorization header');
  return { scheme: scheme === 'dpop' ? 'DPoP' : 'Bearer', token, proof: readProof(headers.dpop) };
}
