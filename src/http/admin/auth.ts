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
 *
 * A privilege change bites on the next request (ADR 0013): the token's claims count only while
 * the registry still grants them to the agent that obtained it. Once that agent is no longer
 * allowed the issuer audience, the token is addressed nowhere it may go: 401. Once it is no longer
 * allowed `sts:admin`, the token no longer holds the admin privilege: 403.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { scopesOf } from '../../protocol/compact-jwt.js';
import { bindingOf } from '../../protocol/confirmation.js';
import { ADMIN_SCOPE, CLAIM_CLIENT_ID, CLAIM_TXN } from '../../protocol/constants.js';
import type { RuleCode } from '../../domain/types.js';
import type { LineageStore } from '../../infra/lineage-store.js';
import type { OwnToken, OwnTokenVerifier } from '../../protocol/own-token.js';
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
  /** Where a refusal for a withdrawn privilege is audited. */
  readonly lineage: Pick<LineageStore, 'recordRefusal'>;
}

/** RFC 6750 §2.1: `Bearer` followed by a b64token. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

function unauthorized(detail = 'a valid admin bearer token is required'): ProblemError {
  return new ProblemError(401, 'unauthorized', detail);
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function forbidden(detail: string): ProblemError {
  return new ProblemError(403, 'forbidden', detail);
}

/** Returns the authenticator; it resolves to the caller, or throws a 401/403 ProblemError. */
export function createAdminAuthenticator(deps: AdminAuthDeps) {
  const adminTokenDigest = digest(deps.adminToken);

  function isAdminToken(presented: string): boolean {
    return timingSafeEqual(digest(presented), adminTokenDigest);
  }

  /**
   * A token of ours that claims the admin privilege its agent has since lost is worth an audit
   * row (ADR 0013): an operator sees who still tries to use it, as for refused exchanges.
   */
  async function refuseWithdrawn(token: OwnToken, rule: RuleCode, problem: ProblemError): Promise<never> {
    const { payload } = token;
    await deps.lineage.recordRefusal({
      decision: 'denied',
      rule,
      clientId: payload[CLAIM_CLIENT_ID],
      subject: payload.sub,
      audience: deps.issuer,
      jti: payload.jti,
      txn: payload[CLAIM_TXN],
      description: `admin API: ${problem.message}`,
    });
    throw problem;
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
      throw forbidden(`the token does not carry the ${ADMIN_SCOPE} scope`);
    }
    // ADR 0013: and the agent that obtained it must still be allowed both, on this very request.
    const privilege = await deps.ownTokens.standingPrivilege(verified.value);
    if (!privilege.audienceStands) {
      await refuseWithdrawn(
        verified.value,
        'audience_withdrawn',
        unauthorized('the agent that obtained the token may no longer address the admin API'),
      );
    }
    if (!privilege.scopes.includes(ADMIN_SCOPE)) {
      await refuseWithdrawn(
        verified.value,
        'scope_withdrawn',
        forbidden(`the ${ADMIN_SCOPE} scope has been withdrawn from the agent that obtained the token`),
      );
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
