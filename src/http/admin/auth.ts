/**
 * Who may call the admin API (CONTRACT §4). Two credentials, tried in order:
 *
 * 1. the bootstrap `ADMIN_TOKEN`, compared in constant time over SHA-256 digests so that neither
 *    its content nor its length leaks through timing;
 * 2. an access token of this service (RFC 9068) addressed to the issuer and carrying `sts:admin`,
 *    not DPoP-bound (this API takes no DPoP proofs).
 *
 * No or bad credentials, or a token addressed elsewhere: 401. A valid token without `sts:admin`:
 * 403 (RFC 6750 §3.1 `insufficient_scope`).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { JWTPayload } from 'jose';
import { bindingOf } from '../../protocol/confirmation.js';
import { ADMIN_SCOPE, CLAIM_CLIENT_ID, CLAIM_SCOPE } from '../../protocol/constants.js';
import type { OwnTokenVerifier } from '../../protocol/own-token.js';
import { ProblemError } from '../problem.js';
import { epochSeconds } from '../../protocol/clock.js';

export type AdminPrincipal =
  | { readonly kind: 'admin_token' }
  | {
      readonly kind: 'access_token';
      readonly clientId: string;
      readonly subject: string;
      readonly jti: string;
    };

export interface AdminAuthDeps {
  readonly adminToken: string;
  readonly issuer: string;
  readonly ownTokens: OwnTokenVerifier;
}

/** RFC 6750 §2.1: `Bearer` followed by a b64token. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

function unauthorized(detail = 'a valid admin bearer token is required'): ProblemError {
  return new ProblemError(401, 'unauthorized', detail);
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function scopesOf(payload: JWTPayload): string[] {
  const scope = payload[CLAIM_SCOPE];
  return typeof scope === 'string' ? scope.split(' ').filter(Boolean) : [];
}

/** Returns the authenticator; it resolves to the caller, or throws a 401/403 ProblemError. */
export function createAdminAuthenticator(deps: AdminAuthDeps) {
  const adminTokenDigest = digest(deps.adminToken);

  function isAdminToken(presented: string): boolean {
    return timingSafeEqual(digest(presented), adminTokenDigest);
  }

  async function verifyAccessToken(token: string): Promise<AdminPrincipal> {
    // RFC 9068 §4: one of this service's access tokens, addressed to the issuer itself...
    const verified = await deps.ownTokens.verify(token, {
      now: epochSeconds(),
      audience: deps.issuer,
    });
    if (!verified.ok) throw unauthorized();
    const { payload, standing } = verified.value;
    // ...and to nothing else: a token also addressed elsewhere could be replayed here by that audience.
    if (Array.isArray(payload.aud) && payload.aud.length !== 1) throw unauthorized();
    // RFC 9449 §7.1: a DPoP-bound token is good only with a proof of its key, which this API does
    // not take; accepting it as a bearer token would undo the binding.
    if (bindingOf(payload)?.kind !== 'none') {
      throw unauthorized('a DPoP-bound token is not accepted here: use a Bearer token');
    }
    // Not revoked, directly or through an ancestor, and every agent of its chain enabled (§3.4, AD-10).
    if (standing.revoked || !(await deps.ownTokens.chainIsLive(verified.value))) throw unauthorized();
    if (!scopesOf(payload).includes(ADMIN_SCOPE)) {
      throw new ProblemError(403, 'forbidden', `the token does not carry the ${ADMIN_SCOPE} scope`);
    }
    return {
      kind: 'access_token',
      clientId: payload[CLAIM_CLIENT_ID],
      subject: payload.sub,
      jti: payload.jti,
    };
  }

  return async function authenticate(authorization: string | undefined): Promise<AdminPrincipal> {
    const token = BEARER.exec(authorization ?? '')?.[1];
    if (token === undefined) throw unauthorized();
    if (isAdminToken(token)) return { kind: 'admin_token' };
    return verifyAccessToken(token);
  };
}
