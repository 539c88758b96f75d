/**
 * JWT authorization grants across trust domains (draft-ietf-oauth-identity-chaining, ADR 0025):
 * signing the grants this service issues for a peer's authorization server (draft §2.3.3), and
 * verifying the grants a peer issued for this one (RFC 7523 §3, draft §2.4.2) into the domain's
 * VerifiedGrant. Whether a verified grant may be redeemed is the domain's decision.
 */
import { errors as joseErrors, type JWTPayload } from 'jose';
import { flattenActClaim } from '../domain/act-chain.js';
import { hasControlCharacter } from '../domain/audit-field.js';
import type { VerifiedGrant } from '../domain/identity-chaining.js';
import { refuse } from '../domain/refusal.js';
import type { Refusal, Result } from '../domain/types.js';
import type { PeerDomainRecord, Registry } from '../infra/registry.js';
import type { LoadedKey } from '../infra/signing-keys.js';
import { audiencesOf, decodeCompactJwt, scopesOf } from './compact-jwt.js';
import { bindingOf } from './confirmation.js';
import { ACCEPTED_INPUT_ALGS, CLAIM_ACT, CLAIM_TXN, MAX_ACT_NESTING } from './constants.js';
import { verifyJwt, type JwsVerificationKey } from './jws-verify.js';
import { signTypedJwt, type AccessTokenClaims } from './mint.js';
import type { TrustedIssuerKeys } from './trusted-issuer-keys.js';

/**
 * The `typ` of a grant this service issues: a plain JWT (RFC 7519 §5.1), never `at+jwt`, so no
 * resource server takes it for an access token (RFC 9068 §4), and never another kind's media type.
 */
export const AUTHORIZATION_GRANT_TYP = 'JWT';
/** RFC 8693 §2.2.1: `token_type` of an issued token that is not an access token. */
export const TOKEN_TYPE_NOT_APPLICABLE = 'N_A';
/** Longest a grant may live, here and as accepted from a peer (draft §4.5: short-lived). */
export const MAX_GRANT_TTL_SECONDS = 300;
/** Typed JWTs of other kinds (at+jwt, client-authentication+jwt, dpop+jwt, …) are never grants. */
const OTHER_JWT_KINDS = /\+jwt$/i;

/**
 * draft §2.3.3: the claims of an access token, but `aud` is the peer's authorization server, as
 * the single audience, and the `typ` is the grant's own.
 */
export type AuthorizationGrantClaims = AccessTokenClaims;

export function signAuthorizationGrant(key: LoadedKey, claims: AuthorizationGrantClaims): Promise<string> {
  return signTypedJwt(key, claims, AUTHORIZATION_GRANT_TYP);
}

export interface AuthorizationGrantVerifierDeps {
  /** This service's issuer identifier: the only `aud` a grant for it may carry (RFC 10070). */
  readonly issuer: string;
  readonly registry: Registry;
  readonly peerKeys: TrustedIssuerKeys;
  readonly clockToleranceSeconds: number;
}

export interface GrantFromPeer {
  readonly grant: VerifiedGrant;
  readonly peer: PeerDomainRecord;
}

function invalid(description: string): Refusal {
  return refuse('authorization_grant_invalid', 'invalid_grant', `assertion ${description}`);
}

export class AuthorizationGrantVerifier {
  readonly #deps: AuthorizationGrantVerifierDeps;

  constructor(deps: AuthorizationGrantVerifierDeps) {
    this.#deps = deps;
  }

  /**
   * RFC 7523 §3: structure, `typ`, `alg`, issuer (a registered peer with keys), signature, `aud`
   * (this issuer, as its sole value), `exp`, `nbf`, `iat` (bounded skew and lifetime), `sub`, `jti`.
   */
  async verify(assertion: string, now: number): Promise<Result<GrantFromPeer>> {
    const decoded = decodeCompactJwt(assertion);
    if (!decoded.ok) return invalid('is not a signed JWT in compact form');
    const { header, payload: unverified } = decoded;
    if (typeof header.alg !== 'string' || !(ACCEPTED_INPUT_ALGS as readonly string[]).includes(header.alg)) {
      return invalid('uses an algorithm that is not accepted');
    }
    if (header.crit !== undefined) return invalid('carries unsupported critical header parameters');
    // draft §2.3.3: an access token is never an authorization grant, nor is any other typed JWT.
    if (typeof header.typ === 'string' && OTHER_JWT_KINDS.test(header.typ)) {
      return invalid('is a JWT of another kind than an authorization grant');
    }
    if (typeof unverified.iss !== 'string') return invalid('has no issuer');
    const peer = await this.#deps.registry.getPeerDomain(unverified.iss);
    const keys = peer ? this.#deps.peerKeys.keysFor(peer) : null;
    if (!peer || !keys) {
      return refuse(
        'peer_not_registered',
        'invalid_grant',
        'the authorization grant was issued by a domain that is not a registered peer',
      );
    }
    const verified = await this.#checkSignatureAndTimes(assertion, keys, now);
    if (!verified.ok) return verified;
    const grant = this.#normalise(peer, verified.value);
    return grant.ok ? { ok: true, value: { grant: grant.value, peer } } : grant;
  }

  async #checkSignatureAndTimes(
    assertion: string,
    keys: JwsVerificationKey,
    now: number,
  ): Promise<Result<JWTPayload>> {
    const tolerance = this.#deps.clockToleranceSeconds;
    let payload: JWTPayload;
    try {
      ({ payload } = await verifyJwt(assertion, keys, {
        algorithms: [...ACCEPTED_INPUT_ALGS],
        clockTolerance: tolerance,
        currentDate: new Date(now * 1000),
        requiredClaims: ['exp', 'sub', 'jti', 'aud'],
      }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) return invalid('has expired');
      if (error instanceof joseErrors.JWTClaimValidationFailed)
        return invalid('has missing or invalid claims');
      if (error instanceof joseErrors.JWKSTimeout || !(error instanceof joseErrors.JOSEError)) {
        return invalid("could not be checked: the issuing domain's keys are unreachable");
      }
      return invalid('signature or algorithm is invalid');
    }
    // RFC 7523 §3 point 3, RFC 10070: this service's issuer identifier, as the sole audience.
    const audiences = audiencesOf(payload);
    if (audiences.length !== 1 || audiences[0] !== this.#deps.issuer) {
      return invalid('is not addressed to this authorization server alone');
    }
    if (typeof payload.iat === 'number' && payload.iat > now + tolerance)
      return invalid('was issued in the future');
    // RFC 7523 §3 point 4 leaves the lifetime to the server: a short one keeps the jti record small.
    if ((payload.exp as number) > now + MAX_GRANT_TTL_SECONDS + tolerance) {
      return invalid('lives longer than this server accepts');
    }
    return { ok: true, value: payload };
  }

  #normalise(peer: PeerDomainRecord, payload: JWTPayload): Result<VerifiedGrant> {
    const { sub, jti } = payload;
    if (typeof sub !== 'string' || sub === '') return invalid('has no subject');
    if (typeof jti !== 'string' || jti === '' || jti.length > 200) return invalid('has no usable jti');
    const actors = flattenActClaim(payload[CLAIM_ACT], MAX_ACT_NESTING);
    if (!actors.ok) return invalid('has a malformed or too deeply nested act claim');
    const binding = bindingOf(payload);
    if (binding === undefined) return invalid('has a malformed cnf claim');
    const txn = typeof payload[CLAIM_TXN] === 'string' ? (payload[CLAIM_TXN] as string) : null;
    const scopes = scopesOf(payload);
    const stored = [sub, jti, ...scopes, ...actors.value, ...(txn === null ? [] : [txn])];
    if (typeof payload.client_id === 'string') stored.push(payload.client_id);
    if (stored.some(hasControlCharacter)) return invalid('has a claim holding a control character');
    return {
      ok: true,
      value: {
        issuer: peer.issuer,
        sub,
        scopes,
        exp: payload.exp as number,
        jti,
        txn,
        clientId: typeof payload.client_id === 'string' ? payload.client_id : null,
        actors: actors.value,
        binding,
      },
    };
  }
}
