/**
 * Who may call the admin API (CONTRACT §4). Two credentials, tried in order:
 *
 * 1. the bootstrap `ADMIN_TOKEN`, compared in constant time over SHA-256 digests so that neither
 *    its content nor its length leaks through timing;
 * 2. an access token of this service (RFC 9068) addressed to the issuer and carrying `sts:admin`.
 *
 * No or bad credentials, or a token addressed elsewhere: 401. A valid token without `sts:admin`:
 * 403 (RFC 6750 §3.1 `insufficient_scope`).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { flattenActClaim } from '../../domain/act-chain.js';
import type { LineageStore } from '../../infra/lineage-store.js';
import type { Registry } from '../../infra/registry.js';
import type { KeySet } from '../../infra/signing-keys.js';
import {
  ACCESS_TOKEN_TYP,
  CLAIM_ACT,
  CLAIM_CLIENT_ID,
  CLAIM_SCOPE,
  MAX_ACT_NESTING,
  MAX_INPUT_TOKEN_LENGTH,
} from '../../protocol/constants.js';
import { ProblemError } from '../problem.js';

/** The scope that grants the admin API; the issuer is the only audience that accepts it (CONTRACT §4). */
export const ADMIN_SCOPE = 'sts:admin';

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
  readonly clockToleranceSeconds: number;
  readonly keys: () => KeySet;
  readonly lineage: LineageStore;
  readonly registry: Registry;
}

/** RFC 6750 §2.1: `Bearer` followed by a b64token. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

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

  /** Every agent that holds a place in the token: a disabled or deleted one voids it (AD-10). */
  async function checkChainLive(
    payload: JWTPayload,
    clientId: string,
    subjectIsAgent: boolean,
  ): Promise<void> {
    const actors = flattenActClaim(payload[CLAIM_ACT], MAX_ACT_NESTING);
    if (!actors.ok) throw unauthorized();
    const participants = [
      ...new Set([...(subjectIsAgent ? [payload.sub as string] : []), ...actors.value, clientId]),
    ];
    const agents = await deps.registry.getAgents(participants);
    if (participants.some((id) => agents.get(id)?.status !== 'enabled')) throw unauthorized();
  }

  async function verifyAccessToken(token: string): Promise<AdminPrincipal> {
    if (token.length > MAX_INPUT_TOKEN_LENGTH) throw unauthorized();
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      throw unauthorized();
    }
    const key = kid === undefined ? undefined : deps.keys().verification.get(kid);
    if (!key) throw unauthorized();
    let payload: JWTPayload;
    try {
      // RFC 9068 §4: typ at+jwt, this issuer, and addressed to the issuer itself.
      ({ payload } = await jwtVerify(token, key.publicKey, {
        algorithms: [key.alg],
        typ: ACCESS_TOKEN_TYP,
        issuer: deps.issuer,
        audience: deps.issuer,
        clockTolerance: deps.clockToleranceSeconds,
        requiredClaims: ['exp', 'iat', 'jti', 'sub'],
      }));
    } catch {
      throw unauthorized();
    }
    // A token also addressed elsewhere could be replayed here by that other audience.
    if (Array.isArray(payload.aud) && payload.aud.length !== 1) throw unauthorized();
    const clientId = payload[CLAIM_CLIENT_ID];
    if (typeof payload.jti !== 'string' || typeof payload.sub !== 'string' || typeof clientId !== 'string') {
      throw unauthorized();
    }
    // Only tokens this service recorded, and not revoked directly or through an ancestor (§3.4).
    const standing = await deps.lineage.standing(payload.jti);
    if (!standing || standing.revoked) throw unauthorized();
    await checkChainLive(payload, clientId, standing.subjectIsAgent);
    if (!scopesOf(payload).includes(ADMIN_SCOPE)) {
      throw new ProblemError(403, 'forbidden', `the token does not carry the ${ADMIN_SCOPE} scope`);
    }
    return { kind: 'access_token', clientId, subject: payload.sub, jti: payload.jti };
  }

  return async function authenticate(authorization: string | undefined): Promise<AdminPrincipal> {
    const token = BEARER.exec(authorization ?? '')?.[1];
    if (token === undefined) throw unauthorized();
    if (isAdminToken(token)) return { kind: 'admin_token' };
    if (COMPACT_JWS.test(token)) return verifyAccessToken(token);
    throw unauthorized();
  };
}
