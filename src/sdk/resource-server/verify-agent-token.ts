/**
 * `verifyAgentToken`: the checklist of docs/resource-servers.md as one pipeline. A token is
 * accepted only when every step holds, in this order:
 *
 * 1. signature by a key of the issuer's JWKS, with an expected asymmetric `alg` (RFC 9068 §4);
 * 2. header `typ` at+jwt (RFC 9068 §2.1, §4);
 * 3. `iss` exactly the issuer, `aud` exactly this resource (one value), `exp`/`nbf`/`iat` within a
 *    bounded skew (RFC 9068 §4);
 * 4. the claims agent-sts always sets are there and well-formed (`sub`, `client_id`, `jti`, `act`);
 * 5. the binding: a token with `cnf.jkt` only with a valid proof of that key for this request, never
 *    as Bearer; a token presented with the DPoP scheme only when bound (RFC 9449 §7.1, §7.2);
 * 6. the required scopes (RFC 6750 §3.1 insufficient_scope);
 * 7. the resource's chain policy;
 * 8. the local deny-list of revoked tokens and chains (`revocations`, ADR 0026), when given.
 */
import { errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { checkChain, type ChainPolicy } from './check-chain.js';
import { AgentTokenError, type AgentTokenErrorCode } from './errors.js';
import { readChain, type Actor } from './read-chain.js';
import type { RevocationCheck } from './revocation-list.js';
import type { AuthorizationScheme } from './read-credentials.js';
import type { ReplayStore } from './replay-store.js';
import { verifyDpopProof, type DpopRequest } from './verify-dpop-proof.js';

/** What the token says, once verified. */
export interface AgentToken {
  /** `sub`: the original subject (a user, or the agent that started the chain). */
  readonly subject: string;
  /** `client_id`: the agent that called this resource. */
  readonly clientId: string;
  /** The `act` chain, newest actor first; empty for an agent's own token. */
  readonly actors: readonly Actor[];
  /** `scope`, split. */
  readonly scopes: readonly string[];
  /** `txn`: the chain id, shared by every token derived from one root token. */
  readonly txn: string | undefined;
  readonly jti: string;
  readonly issuer: string;
  readonly audience: string;
  readonly issuedAt: Date;
  readonly expiresAt: Date;
  /** The key the token is bound to (RFC 9449 `cnf.jkt`); undefined for a Bearer token. */
  readonly binding: { readonly method: 'dpop'; readonly jkt: string } | undefined;
  /** Every claim, for anything not read above. */
  readonly claims: JWTPayload;
}

/** How the token came with the request. Without it, the token is taken as a Bearer token. */
export interface PresentedRequest extends DpopRequest {
  readonly scheme: AuthorizationScheme;
  /** The `DPoP` header (required with the DPoP scheme). */
  readonly dpopProof?: string | undefined;
}

export interface DpopOptions {
  /** Where proof `jti`s are spent. Required to accept DPoP-bound tokens. */
  readonly replayStore: ReplayStore;
  /** Accepted proof algorithms. Default ES256, PS256, EdDSA, Ed25519. */
  readonly algorithms?: readonly string[];
  /** How old a proof may be, in seconds. Default 60. */
  readonly maxAge?: number;
  /** Refuse tokens that are not DPoP-bound. Default false. */
  readonly required?: boolean;
}

export interface VerifyAgentTokenOptions {
  /** The agent-sts issuer identifier; `iss` must equal it exactly. */
  readonly issuer: string;
  /** This resource's identifier as registered in agent-sts: the one `aud` accepted. */
  readonly audience: string;
  /** The issuer's keys: `createAgentStsKeySet({ issuer })`, created once and reused. */
  readonly keys: JWTVerifyGetKey;
  /** Accepted token signing algorithms. Default ES256 (what agent-sts signs with). */
  readonly algorithms?: readonly string[];
  /** Clock skew allowed on `exp`, `nbf`, `iat` and proofs, in seconds. Default 5, at most 300. */
  readonly clockTolerance?: number;
  /** Scopes the request needs, all of them. */
  readonly requiredScopes?: readonly string[];
  readonly chain?: ChainPolicy;
  /** DPoP acceptance; without it, DPoP-bound tokens are refused. */
  readonly dpop?: DpopOptions;
  /** The request the token came with, for the scheme and the DPoP proof checks. */
  readonly request?: PresentedRequest;
  /**
   * Revoked tokens and chains: the `revocations` of `createRevocationReceiver` or
   * `createRevocationPoller`, or any `{ isRevoked(token) }`. A listed token is refused
   * (`token_revoked`, RFC 6750 invalid_token).
   */
  readonly revocations?: RevocationCheck;
}

const MAX_CLOCK_TOLERANCE = 300;
const TOKEN_TYPE = 'at+jwt';

/** The typed refusal for a jose failure; `kind` names the JWT that was expected. */
export function joseFailure(cause: unknown, kind = 'an at+jwt access token'): AgentTokenError {
  const refuse = (code: AgentTokenErrorCode, message: string) =>
    new AgentTokenError(code, message, { cause });
  if (cause instanceof AgentTokenError) return cause;
  if (cause instanceof errors.JWTExpired) return refuse('token_expired', 'the access token has expired');
  if (cause instanceof errors.JWTClaimValidationFailed) {
    switch (cause.claim) {
      case 'typ':
        return refuse('token_type_invalid', `the token is not ${kind}`);
      case 'iss':
        return refuse('token_issuer_invalid', 'the token is from another issuer');
      case 'aud':
        return refuse('token_audience_invalid', 'the token is for another audience');
      case 'nbf':
      case 'iat':
        return refuse('token_not_yet_valid', 'the token is not valid yet');
      default:
        return refuse('token_claims_invalid', `the token ${cause.claim} claim is missing or invalid`);
    }
  }
  if (cause instanceof errors.JWKSNoMatchingKey)
    return refuse('token_key_unknown', 'the token is signed by an unknown key');
  if (cause instanceof errors.JWSSignatureVerificationFailed) {
    return refuse('token_signature_invalid', 'the token signature is invalid');
  }
  if (cause instanceof errors.JOSEAlgNotAllowed)
    return refuse('token_signature_invalid', 'the token alg is not accepted');
  if (
    cause instanceof errors.JWKSTimeout ||
    cause instanceof errors.JWKSInvalid ||
    cause instanceof TypeError
  ) {
    return refuse('jwks_unavailable', 'the issuer JWKS could not be fetched');
  }
  return refuse('token_malformed', 'the token is not a well-formed JWT');
}

async function verifyJwt(token: string, options: VerifyAgentTokenOptions, clockTolerance: number) {
  try {
    return await jwtVerify(token, options.keys, {
      issuer: options.issuer,
      audience: options.audience,
      typ: TOKEN_TYPE,
      algorithms: [...(options.algorithms ?? ['ES256'])],
      clockTolerance,
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti'],
    });
  } catch (cause) {
    throw joseFailure(cause);
  }
}

function claimsInvalid(message: string): never {
  throw new AgentTokenError('token_claims_invalid', message);
}

function readBinding(cnf: unknown): AgentToken['binding'] {
  if (cnf === undefined) return undefined;
  if (typeof cnf !== 'object' || cnf === null || Array.isArray(cnf)) claimsInvalid('cnf is not an object');
  const { jkt } = cnf as Record<string, unknown>;
  if (jkt === undefined) {
    // An mTLS thumbprint or another confirmation method cannot be checked here: refuse, never ignore.
    throw new AgentTokenError(
      'token_binding_unsupported',
      'the token is bound by an unsupported confirmation method',
    );
  }
  if (typeof jkt !== 'string' || jkt === '') claimsInvalid('cnf jkt is not a string');
  return { method: 'dpop', jkt };
}

function readToken(payload: JWTPayload): AgentToken {
  // RFC 9068 §3 and CONTRACT §3.3: one audience per token.
  const audiences = typeof payload.aud === 'string' ? [payload.aud] : (payload.aud ?? []);
  if (audiences.length !== 1)
    throw new AgentTokenError('token_audience_invalid', 'the token has more than one audience');
  const { client_id: clientId, scope, txn } = payload;
  if (typeof clientId !== 'string' || clientId === '') claimsInvalid('the token has no client_id');
  if (scope !== undefined && typeof scope !== 'string') claimsInvalid('scope is not a string');
  if (txn !== undefined && typeof txn !== 'string') claimsInvalid('txn is not a string');
  return {
    subject: payload.sub!,
    clientId,
    actors: readChain(payload.act),
    scopes: (scope ?? '').split(' ').filter((value) => value !== ''),
    txn,
    jti: payload.jti!,
    issuer: payload.iss!,
    audience: audiences[0]!,
    issuedAt: new Date(payload.iat! * 1000),
    expiresAt: new Date(payload.exp! * 1000),
    binding: readBinding(payload.cnf),
    claims: payload,
  };
}

async function checkPresentation(
  token: string,
  agentToken: AgentToken,
  options: VerifyAgentTokenOptions,
  clockTolerance: number,
): Promise<void> {
  const request = options.request;
  const scheme = request?.scheme ?? 'Bearer';
  const binding = agentToken.binding;
  if (!binding) {
    if (scheme === 'DPoP') throw new AgentTokenError('dpop_token_not_bound', 'the token is not DPoP-bound');
    if (options.dpop?.required)
      throw new AgentTokenError('dpop_token_not_bound', 'only DPoP-bound tokens are accepted');
    return;
  }
  // RFC 9449 §7.2: a bound token is never accepted as a Bearer token.
  if (scheme !== 'DPoP' || !request || !options.dpop) {
    throw new AgentTokenError(
      'dpop_proof_required',
      'the token is DPoP-bound: present it with the DPoP scheme and a proof',
    );
  }
  if (!request.dpopProof) throw new AgentTokenError('dpop_proof_invalid', 'a DPoP proof header is required');
  await verifyDpopProof(request.dpopProof, {
    method: request.method,
    url: request.url,
    accessToken: token,
    jkt: binding.jkt,
    replayStore: options.dpop.replayStore,
    algorithms: options.dpop.algorithms,
    maxAge: options.dpop.maxAge,
    clockTolerance,
  });
}

export function checkScopes(agentToken: Pick<AgentToken, 'scopes'>, required: readonly string[]): void {
  if (required.every((scope) => agentToken.scopes.includes(scope))) return;
  throw new AgentTokenError('scope_insufficient', 'the token lacks a required scope', {
    requiredScopes: required,
  });
}

/** Verifies an agent-sts access token for this resource; throws AgentTokenError when refused. */
export async function verifyAgentToken(token: string, options: VerifyAgentTokenOptions): Promise<AgentToken> {
  const clockTolerance = options.clockTolerance ?? 5;
  if (!(clockTolerance >= 0 && clockTolerance <= MAX_CLOCK_TOLERANCE)) {
    throw new TypeError(`clockTolerance must be between 0 and ${MAX_CLOCK_TOLERANCE} seconds`);
  }
  if (typeof options.audience !== 'string' || options.audience === '') {
    throw new TypeError('audience must be one non-empty string');
  }
  const { payload } = await verifyJwt(token, options, clockTolerance);
  const agentToken = readToken(payload);
  await checkPresentation(token, agentToken, options, clockTolerance);
  checkScopes(agentToken, options.requiredScopes ?? []);
  if (options.chain) await checkChain(agentToken, options.chain);
  if (options.revocations && (await options.revocations.isRevoked(agentToken))) {
    throw new AgentTokenError('token_revoked', 'the token has been revoked');
  }
  return agentToken;
}
