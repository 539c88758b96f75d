/**
 * Verifies a subject or actor token (RFC 8693 §2.1) into the domain's VerifiedToken: this
 * service's own tokens through the OwnTokenVerifier (own-token.ts), or a registered trusted
 * issuer's tokens against that issuer's JWKS. Signature, `alg`, `typ`, `exp`, `nbf` and `iat` are
 * checked here; whether the token may be used for this hop is the domain's decision.
 */
import {
  errors as joseErrors,
  type JWTPayload,
  type JWTVerifyGetKey,
  type ProtectedHeaderParameters,
} from 'jose';
import { flattenActClaim } from '../domain/act-chain.js';
import { hasControlCharacter } from '../domain/audit-field.js';
import { refuse } from '../domain/refusal.js';
import type { JsonObject, TransactionContext } from '../domain/txn-token.js';
import type { Result, RuleCode, TokenLineage, TokenOrigin, VerifiedToken } from '../domain/types.js';
import type { TokenStanding } from '../infra/lineage-store.js';
import type { Registry, TrustedIssuerRecord } from '../infra/registry.js';
import { audiencesOf, decodeCompactJwt, type DecodedJwt } from './compact-jwt.js';
import { bindingOf } from './confirmation.js';
import { verifyJwt } from './jws-verify.js';
import {
  ACCEPTED_INPUT_ALGS,
  ACCESS_TOKEN_TYP,
  CLAIM_ACT,
  CLAIM_CLIENT_ID,
  CLAIM_MAY_ACT,
  CLAIM_RCTX,
  CLAIM_SCOPE,
  CLAIM_TCTX,
  CLAIM_TXN,
  MAX_ACT_NESTING,
  TOKEN_TYPE_ACCESS_TOKEN,
  TOKEN_TYPE_ID_TOKEN,
  TOKEN_TYPE_JWT,
  TXN_TOKEN_TYP,
} from './constants.js';
import type { OwnTokenFailure, OwnTokenVerifier } from './own-token.js';
import type { TrustedIssuerKeys } from './trusted-issuer-keys.js';

export type TokenRole = 'subject_token' | 'actor_token';

export interface InputTokenVerifierDeps {
  readonly issuer: string;
  readonly ownTokens: OwnTokenVerifier;
  readonly registry: Registry;
  readonly trustedIssuerKeys: TrustedIssuerKeys;
  readonly clockToleranceSeconds: number;
}

const SELF: TokenOrigin = { kind: 'self' };
/** `typ` values of other JWT kinds that must never pass as a subject or actor (RFC 8725 §3.11). */
const FOREIGN_JWT_TYPES = /\+jwt$/i;

/** The public description of each reason a token is refused before its claims are read. */
const FAILURE_DETAILS: Readonly<Record<OwnTokenFailure, string>> = {
  too_large: 'is too large',
  not_compact: 'is not a signed JWT in compact form',
  malformed: 'is not a well-formed JWT',
  unknown_key: 'was signed with an unknown key',
  invalid_signature: 'signature or algorithm is invalid',
  expired: 'has expired',
  invalid_claims: 'has missing or invalid claims',
  unknown_token: 'is not known to this service',
  untrusted_root: 'was derived from a token of an issuer that is no longer trusted',
};

function invalid(role: TokenRole, detail: string): Result<never> {
  const rule: RuleCode = role === 'subject_token' ? 'subject_token_invalid' : 'actor_token_invalid';
  return refuse(rule, 'invalid_request', `${role} ${detail}`);
}

function normaliseTyp(typ: string | undefined): string | undefined {
  return typ?.toLowerCase().replace(/^application\//, '');
}

/** RFC 8693 §3 token types against the JWT's own `typ` (SECURITY-CASES ST-02). */
function typeMatches(declaredType: string, header: ProtectedHeaderParameters, payload: JWTPayload): boolean {
  const typ = normaliseTyp(header.typ);
  // Logout tokens and security event tokens carry `events`: never a subject (Keycloak GHSA-7fpj-9hr8-28vh).
  if (payload.events !== undefined) return false;
  switch (declaredType) {
    case TOKEN_TYPE_ACCESS_TOKEN:
      return typ === ACCESS_TOKEN_TYP; // RFC 9068 §4
    case TOKEN_TYPE_ID_TOKEN:
      return typ === undefined || typ === 'jwt';
    case TOKEN_TYPE_JWT:
      // Any JWT but another kind's `+jwt` media type; `at+jwt` is an access token, also a JWT.
      return typ === undefined || typ === ACCESS_TOKEN_TYP || !FOREIGN_JWT_TYPES.test(typ);
    default:
      return false;
  }
}

function scopesOf(payload: JWTPayload, claim: 'scope' | 'scp'): string[] | null {
  const value = payload[claim];
  if (value === undefined) return [];
  if (typeof value === 'string') return value.split(' ').filter(Boolean);
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value as string[];
  return null;
}

/** RFC 8693 §4.4: `may_act` names who may act for the subject. */
function mayActOf(payload: JWTPayload): string[] | null | undefined {
  const value = payload[CLAIM_MAY_ACT];
  if (value === undefined) return null;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const sub = (value as Record<string, unknown>).sub;
    if (typeof sub === 'string' && sub) return [sub];
  }
  return undefined;
}

/** What lineage recorded of one of this service's tokens, as the domain reads it. */
function lineageOf(standing: TokenStanding, rootIsPeer: boolean): TokenLineage {
  return {
    chainAgents: standing.chainAgents,
    depth: standing.depth,
    depthLimit: standing.depthLimit,
    rootIssuer: standing.rootIssuer,
    rootIsPeer,
  };
}

/** A context claim of a Txn-Token: a JSON object, or absent; undefined when malformed. */
function contextClaim(value: unknown): JsonObject | null | undefined {
  if (value === undefined) return null;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as JsonObject;
  return undefined;
}

/** A Txn-Token of this service presented to be replaced, and its context claims (ADR 0024). */
export interface VerifiedTxnToken {
  readonly token: VerifiedToken;
  readonly context: TransactionContext;
}

export class InputTokenVerifier {
  readonly #deps: InputTokenVerifierDeps;

  constructor(deps: InputTokenVerifierDeps) {
    this.#deps = deps;
  }

  async verify(
    role: TokenRole,
    token: string,
    declaredType: string,
    now: number,
  ): Promise<Result<VerifiedToken>> {
    const decoded = decodeCompactJwt(token);
    if (!decoded.ok) return invalid(role, FAILURE_DETAILS[decoded.reason]);
    const { header, payload: unverified } = decoded;
    if (typeof header.alg !== 'string' || !(ACCEPTED_INPUT_ALGS as readonly string[]).includes(header.alg)) {
      return invalid(role, 'uses an algorithm that is not accepted');
    }
    if (header.crit !== undefined) return invalid(role, 'carries unsupported critical header parameters');
    if (!typeMatches(declaredType, header, unverified)) {
      return invalid(role, 'does not match its declared token type');
    }
    if (typeof unverified.iss !== 'string') return invalid(role, 'has no issuer');

    if (unverified.iss === this.#deps.issuer) {
      if (declaredType === TOKEN_TYPE_ID_TOKEN)
        return invalid(role, 'is not an ID token of a trusted issuer');
      return this.#verifyOwn(role, token, now, decoded);
    }
    const trusted = await this.#deps.registry.getTrustedIssuer(unverified.iss);
    if (!trusted) return invalid(role, 'was issued by an issuer that is not trusted');
    return this.#verifyTrusted(role, token, trusted, now);
  }

  async #verifyOwn(
    role: TokenRole,
    token: string,
    now: number,
    decoded: DecodedJwt,
  ): Promise<Result<VerifiedToken>> {
    const verified = await this.#deps.ownTokens.verify(token, { now, decoded });
    if (!verified.ok) return invalid(role, FAILURE_DETAILS[verified.reason]);
    const { payload, standing, rootIsPeer } = verified.value;
    return this.#normaliseOwn(role, payload, standing, rootIsPeer);
  }

  /** One of this service's own tokens, normalised, with what lineage recorded of it. */
  #normaliseOwn(
    role: TokenRole,
    payload: JWTPayload,
    standing: TokenStanding,
    rootIsPeer: boolean,
  ): Result<VerifiedToken> {
    const normalised = this.#normalise(
      role,
      payload,
      SELF,
      'scope',
      standing.revoked,
      standing.subjectIsAgent,
    );
    if (!normalised.ok) return normalised;
    return { ok: true, value: { ...normalised.value, lineage: lineageOf(standing, rootIsPeer) } };
  }

  /**
   * A Txn-Token of this service as the subject token of a replacement (Txn-Tokens draft, "Txn-Token
   * as a subject_token"): `typ` `txntoken+jwt`, this issuer, `aud` the Trust Domain, not expired,
   * and known to lineage, whose standing (revocation, chain) the policy then weighs. Its requesting
   * workload (`req_wl`) stands where an access token's `client_id` does.
   */
  async verifyTxnToken(token: string, trustDomain: string, now: number): Promise<Result<VerifiedTxnToken>> {
    const role = 'subject_token';
    const decoded = decodeCompactJwt(token);
    if (!decoded.ok) return invalid(role, FAILURE_DETAILS[decoded.reason]);
    if (normaliseTyp(decoded.header.typ) !== TXN_TOKEN_TYP) {
      return invalid(role, 'does not match its declared token type');
    }
    if (decoded.payload.iss !== this.#deps.issuer) return invalid(role, 'is not a Txn-Token of this service');
    const verified = await this.#deps.ownTokens.verifyTxnToken(token, {
      now,
      audience: trustDomain,
      decoded,
    });
    if (!verified.ok) {
      return invalid(
        role,
        verified.reason === 'invalid_claims'
          ? 'is not a Txn-Token of this Trust Domain, or has missing or invalid claims'
          : FAILURE_DETAILS[verified.reason],
      );
    }
    const { payload, standing } = verified.value;
    const rctx = contextClaim(payload[CLAIM_RCTX]);
    const tctx = contextClaim(payload[CLAIM_TCTX]);
    if (rctx === undefined || tctx === undefined) return invalid(role, 'has a malformed context claim');
    const normalised = this.#normaliseOwn(role, payload, standing, verified.value.rootIsPeer);
    if (!normalised.ok) return normalised;
    return {
      ok: true,
      value: { token: { ...normalised.value, clientId: payload.req_wl }, context: { rctx, tctx } },
    };
  }

  async #verifyTrusted(
    role: TokenRole,
    token: string,
    trusted: TrustedIssuerRecord,
    now: number,
  ): Promise<Result<VerifiedToken>> {
    const keys = this.#deps.trustedIssuerKeys.keysFor(trusted);
    if (!keys) return invalid(role, "issuer's keys are not available");
    const verified = await this.#checkSignatureAndTimes(role, token, keys, now);
    if (!verified.ok) return verified;
    const origin: TokenOrigin = {
      kind: 'trusted_issuer',
      issuer: trusted.issuer,
      audiences: trusted.audiences,
      maxDelegationDepth: trusted.maxDelegationDepth,
    };
    return this.#normalise(role, verified.value, origin, trusted.scopeClaim, false, false);
  }

  async #checkSignatureAndTimes(
    role: TokenRole,
    token: string,
    keys: JWTVerifyGetKey,
    now: number,
  ): Promise<Result<JWTPayload>> {
    const tolerance = this.#deps.clockToleranceSeconds;
    try {
      const { payload } = await verifyJwt(token, keys, {
        algorithms: [...ACCEPTED_INPUT_ALGS],
        clockTolerance: tolerance,
        currentDate: new Date(now * 1000),
        requiredClaims: ['exp', 'sub'],
      });
      if (typeof payload.iat === 'number' && payload.iat > now + tolerance) {
        return invalid(role, 'was issued in the future');
      }
      if (typeof payload.sub !== 'string' || payload.sub === '') return invalid(role, 'has no subject');
      return { ok: true, value: payload };
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) return invalid(role, 'has expired');
      if (error instanceof joseErrors.JWTClaimValidationFailed)
        return invalid(role, 'has invalid time or subject claims');
      if (error instanceof joseErrors.JWKSTimeout || !(error instanceof joseErrors.JOSEError)) {
        return invalid(role, "could not be checked: the issuer's keys are unreachable");
      }
      return invalid(role, 'signature or algorithm is invalid');
    }
  }

  #normalise(
    role: TokenRole,
    payload: JWTPayload,
    origin: TokenOrigin,
    scopeClaim: 'scope' | 'scp',
    revoked: boolean,
    subjectIsAgent: boolean,
  ): Result<VerifiedToken> {
    const scopes = scopesOf(payload, origin.kind === 'self' ? CLAIM_SCOPE : scopeClaim);
    if (!scopes) return invalid(role, 'has a malformed scope claim');
    const actors = flattenActClaim(payload[CLAIM_ACT], MAX_ACT_NESTING);
    if (!actors.ok) return invalid(role, 'has a malformed or too deeply nested act claim');
    const mayAct = mayActOf(payload);
    if (mayAct === undefined) return invalid(role, 'has a malformed may_act claim');
    const binding = bindingOf(payload);
    if (binding === undefined) return invalid(role, 'has a malformed cnf claim');
    const txn = payload[CLAIM_TXN];
    const clientId = payload[CLAIM_CLIENT_ID];
    // A signature proves who wrote a claim, not that it can be stored: PostgreSQL text cannot hold
    // NUL, and no OAuth identifier or scope holds a control character.
    const storedClaims = [payload.sub as string, ...scopes, ...actors.value, ...(mayAct ?? [])];
    if (typeof txn === 'string') storedClaims.push(txn);
    if (typeof clientId === 'string') storedClaims.push(clientId);
    if (storedClaims.some(hasControlCharacter))
      return invalid(role, 'has a claim holding a control character');
    return {
      ok: true,
      value: {
        origin,
        sub: payload.sub as string,
        aud: audiencesOf(payload),
        scopes,
        exp: payload.exp as number,
        jti: typeof payload.jti === 'string' ? payload.jti : null,
        txn: origin.kind === 'self' && typeof txn === 'string' ? txn : null,
        clientId: typeof clientId === 'string' ? clientId : null,
        actors: actors.value,
        mayActSubjects: mayAct,
        revoked,
        subjectIsAgent,
        binding,
      },
    };
  }
}
