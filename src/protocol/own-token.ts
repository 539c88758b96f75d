/**
 * Verifies one of this service's own access tokens, wherever one is presented: as a subject or
 * actor token (input-token.ts), at introspection and revocation (token-management.ts), and as an
 * admin API credential (http/admin/auth.ts). A token is ours when a current or recently retired
 * key (never a revoked one) signed it as an RFC 9068 access token of this issuer, and lineage
 * recorded its `jti`. Where lineage also recorded the token's digest, the token must be exactly
 * the one signed then, and that match stands in for checking the signature again (ADR 0028).
 * Revocation, chain liveness and the privilege that still stands are the caller's to weigh: the
 * answer carries lineage's standing and every agent holding a place in the chain, and
 * `chainIsLive` and `standingPrivilege` look them up in the registry.
 */
import { timingSafeEqual } from 'node:crypto';
import {
  errors as joseErrors,
  type JWTPayload,
  type JWTVerifyOptions,
  type ProtectedHeaderParameters,
} from 'jose';
import { flattenActClaim } from '../domain/act-chain.js';
import { allAgentsEnabled, localChainParticipants } from '../domain/chain-liveness.js';
import { standingPrivilege, type StandingPrivilege } from '../domain/standing-privilege.js';
import type { LineageStore, TokenStanding } from '../infra/lineage-store.js';
import type { Registry } from '../infra/registry.js';
import type { KeySet, LoadedKey } from '../infra/signing-keys.js';
import {
  audiencesOf,
  decodeCompactJwt,
  scopesOf,
  type CompactJwtFailure,
  type DecodedJwt,
} from './compact-jwt.js';
import {
  ACCESS_TOKEN_TYP,
  CLAIM_ACT,
  CLAIM_CLIENT_ID,
  CLAIM_REQ_WL,
  CLAIM_TXN,
  MAX_ACT_NESTING,
  TXN_TOKEN_TYP,
} from './constants.js';
import { validateJwtClaims, verifyJwt } from './jws-verify.js';
import type { OnDemandKeyRefresh } from './key-refresh.js';
import { tokenDigest, type AccessTokenClaims } from './mint.js';

/** Why a token is not a live record of ours; each caller maps it to its own answer. */
export type OwnTokenFailure =
  | CompactJwtFailure
  /** No `kid`, or one this instance does not hold even after a refresh. */
  | 'unknown_key'
  /** Signature or algorithm, or not the exact token lineage recorded under its `jti` (ADR 0028). */
  | 'invalid_signature'
  | 'expired'
  /** `typ`, `iss`, `aud`, `nbf`, `iat`, a malformed `act`, or a required claim missing or mistyped. */
  | 'invalid_claims'
  /** Well signed, but lineage has no record of the `jti`. */
  | 'unknown_token'
  /** Derived from a trusted issuer's token, and that issuer is no longer registered. */
  | 'untrusted_root';

/** The claims every access token this service mints carries, checked. */
export type OwnTokenClaims = JWTPayload &
  Pick<AccessTokenClaims, 'iss' | 'sub' | 'jti' | 'exp' | 'iat' | 'client_id' | 'txn'>;

export interface OwnToken {
  readonly payload: OwnTokenClaims;
  readonly standing: TokenStanding;
  /**
   * Every agent of this registry holding a place in the chain (the domain's
   * `localChainParticipants`), oldest first.
   */
  readonly participants: readonly string[];
  /** The chain crossed in from a peer domain (ADR 0025). */
  readonly rootIsPeer: boolean;
}

export interface OwnTokenRefused {
  readonly ok: false;
  readonly reason: OwnTokenFailure;
}

export type OwnTokenResult = { readonly ok: true; readonly value: OwnToken } | OwnTokenRefused;

export interface OwnTokenVerifyOptions {
  /** Seconds since the epoch. */
  readonly now: number;
  /** An audience the token must name. */
  readonly audience?: string;
  /**
   * The token's header and claims as the caller already decoded them (decodeCompactJwt), so they
   * are not decoded twice; only the header is read from it, and the claims, digest and signature
   * are checked on `token` itself.
   */
  readonly decoded?: DecodedJwt;
}

/**
 * The claims every Txn-Token this service mints carries, checked (ADR 0024). `req_wl`, the
 * requesting workload, is the agent that obtained it, as `client_id` is for an access token.
 */
export type OwnTxnTokenClaims = JWTPayload &
  Pick<AccessTokenClaims, 'iss' | 'sub' | 'jti' | 'exp' | 'iat' | 'txn'> & { readonly req_wl: string };

/** The two kinds of JWT this service signs, each with its own `typ` and obtainer claim. */
const KINDS = {
  access_token: { typ: ACCESS_TOKEN_TYP, obtainer: CLAIM_CLIENT_ID },
  txn_token: { typ: TXN_TOKEN_TYP, obtainer: CLAIM_REQ_WL },
} as const;
type Kind = keyof typeof KINDS;
interface KindClaims {
  readonly access_token: OwnTokenClaims;
  readonly txn_token: OwnTxnTokenClaims;
}

/** One of this service's tokens of kind `K`, verified, with lineage's standing. */
interface Verified<K extends Kind> {
  readonly payload: KindClaims[K];
  readonly standing: TokenStanding;
  readonly participants: readonly string[];
  /** The chain crossed in from a peer domain (ADR 0025). */
  readonly rootIsPeer: boolean;
}
type VerifyResult<K extends Kind> = { readonly ok: true; readonly value: Verified<K> } | OwnTokenRefused;

export type OwnTxnToken = Verified<'txn_token'>;
export type OwnTxnTokenResult = VerifyResult<'txn_token'>;

export interface OwnTokenVerifierDeps {
  readonly issuer: string;
  readonly keys: () => KeySet;
  /**
   * Reloads `keys()` from the shared store when a token names a kid this instance does not
   * know, so a key another instance just activated is accepted at once.
   */
  readonly refreshKeys: OnDemandKeyRefresh;
  readonly lineage: Pick<LineageStore, 'standing'>;
  readonly registry: Pick<Registry, 'getAgents' | 'getTrustedIssuer' | 'getPeerDomain'>;
  readonly clockToleranceSeconds: number;
}

function failure(reason: OwnTokenFailure): OwnTokenRefused {
  return { ok: false, reason };
}

function hasOwnClaims<K extends Kind>(payload: JWTPayload, kind: K): payload is KindClaims[K] {
  return (
    typeof payload.iss === 'string' &&
    typeof payload.sub === 'string' &&
    payload.sub !== '' &&
    typeof payload.jti === 'string' &&
    typeof payload.exp === 'number' &&
    typeof payload.iat === 'number' &&
    typeof payload[KINDS[kind].obtainer] === 'string' &&
    typeof payload[CLAIM_TXN] === 'string'
  );
}

export class OwnTokenVerifier {
  readonly #deps: OwnTokenVerifierDeps;

  constructor(deps: OwnTokenVerifierDeps) {
    this.#deps = deps;
  }

  /**
   * Structure, key, claims, lineage; the token's own record then vouches for it (ADR 0028), or,
   * where it holds no digest, the signature does. The answers are those of checking the signature
   * before anything else: a token that fails a later check is verified by signature first, so a
   * forgery is `invalid_signature` whatever else is wrong with it.
   */
  verify(token: string, options: OwnTokenVerifyOptions): Promise<OwnTokenResult> {
    return this.#verify(token, options, 'access_token');
  }

  /**
   * The same checks for one of this service's Txn-Tokens (`typ` `txntoken+jwt`, ADR 0024): only a
   * Txn-Token passes here, and only an access token passes `verify`.
   */
  verifyTxnToken(token: string, options: OwnTokenVerifyOptions): Promise<OwnTxnTokenResult> {
    return this.#verify(token, options, 'txn_token');
  }

  async #verify<K extends Kind>(
    token: string,
    options: OwnTokenVerifyOptions,
    kind: K,
  ): Promise<VerifyResult<K>> {
    const decoded = options.decoded ?? decodeCompactJwt(token);
    if (!decoded.ok) return failure(decoded.reason);
    const { header } = decoded;
    const key = await this.#key(header.kid);
    if (!key) return failure('unknown_key');
    // What jwtVerify refuses before the signature: another algorithm than the key's, or `crit`.
    if (header.alg !== key.alg || header.crit !== undefined) return failure('invalid_signature');
    const claimOptions = this.#claimOptions(options, kind);
    const checked = this.#checkClaims(token, header, claimOptions, options.now, kind);
    if (!checked.ok) return refuseSigned(token, key, claimOptions, checked.reason);
    const payload = checked.value;
    const actors = flattenActClaim(payload[CLAIM_ACT], MAX_ACT_NESTING);
    if (!actors.ok) return refuseSigned(token, key, claimOptions, 'invalid_claims');
    const standing = await this.#deps.lineage.standing(payload.jti);
    if (!standing) return refuseSigned(token, key, claimOptions, 'unknown_token');
    // ADR 0028: the record of this jti names the exact token signed for it; any other bytes under
    // that jti (an altered claim, a signature moved onto other claims) are not ours.
    const authentic =
      standing.tokenDigest === null
        ? await signatureVerifies(token, key, claimOptions)
        : sameDigest(tokenDigest(token), standing.tokenDigest);
    if (!authentic) return failure('invalid_signature');
    // Removing a trusted issuer (a compromised IdP), or the peer domain a chain crossed in from
    // (ADR 0025), ends every chain its tokens started.
    let rootIsPeer = false;
    if (standing.rootIssuer !== null && !(await this.#deps.registry.getTrustedIssuer(standing.rootIssuer))) {
      if (!(await this.#deps.registry.getPeerDomain(standing.rootIssuer))) return failure('untrusted_root');
      rootIsPeer = true;
    }
    // The agents that answer to this registry: a peer's foreign actors answer to their own domain.
    const participants = localChainParticipants({
      origin: { kind: 'self' },
      sub: payload.sub,
      subjectIsAgent: standing.subjectIsAgent,
      actors: actors.value,
      // Checked to be a string with the other claims (hasOwnClaims).
      clientId: String(payload[KINDS[kind].obtainer]),
      lineage: { ...standing, rootIsPeer },
    });
    return { ok: true, value: { payload, standing, participants, rootIsPeer } };
  }

  /** CONTRACT §3.4, AD-10: a chain holding an agent that is not enabled is dead. */
  async chainIsLive(token: OwnToken): Promise<boolean> {
    const agents = await this.#deps.registry.getAgents(token.participants);
    return allAgentsEnabled(token.participants, agents);
  }

  /**
   * ADR 0013: what of the token's `aud` and `scope` the registry still grants the agent that
   * obtained it (`client_id`), so that a privilege change bites on the next request.
   */
  async standingPrivilege(token: OwnToken): Promise<StandingPrivilege> {
    const clientId = token.payload[CLAIM_CLIENT_ID];
    const agents = await this.#deps.registry.getAgents([clientId]);
    return standingPrivilege(
      { aud: audiencesOf(token.payload), scopes: scopesOf(token.payload) },
      agents.get(clientId),
    );
  }

  /** The key of `kid`, looked up again after one (rate-limited) refresh when it is not known yet. */
  async #key(kid: string | undefined): Promise<LoadedKey | undefined> {
    if (!kid) return undefined;
    const known = this.#deps.keys().verification.get(kid);
    if (known) return known;
    await this.#deps.refreshKeys.run();
    return this.#deps.keys().verification.get(kid);
  }

  /** What jose checks of a token's claims (typ, iss, aud, exp, nbf, iat, required claims). */
  #claimOptions({ now, audience }: OwnTokenVerifyOptions, kind: Kind): JWTVerifyOptions {
    return {
      // RFC 9068 §4, and the Txn-Tokens draft's "JWT Header": one `typ` per kind (RFC 8725 §3.11).
      typ: KINDS[kind].typ,
      issuer: this.#deps.issuer,
      audience,
      clockTolerance: this.#deps.clockToleranceSeconds,
      currentDate: new Date(now * 1000),
      requiredClaims: ['exp', 'iat', 'jti', 'sub'],
    };
  }

  /**
   * jose's own claim checks with `options` (verifyJwt's claim step, validateJwtClaims), then the
   * claims every token of `kind` carries. The signature is not looked at here.
   */
  #checkClaims<K extends Kind>(
    token: string,
    header: ProtectedHeaderParameters,
    options: JWTVerifyOptions,
    now: number,
    kind: K,
  ): { readonly ok: true; readonly value: KindClaims[K] } | OwnTokenRefused {
    const claims = token.slice(token.indexOf('.') + 1, token.lastIndexOf('.'));
    try {
      const payload = validateJwtClaims(header, claims, options);
      if (!hasOwnClaims(payload, kind) || payload.iat > now + this.#deps.clockToleranceSeconds)
        return failure('invalid_claims');
      return { ok: true, value: payload };
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) return failure('expired');
      if (error instanceof joseErrors.JWTClaimValidationFailed) return failure('invalid_claims');
      return failure('invalid_signature');
    }
  }
}

/** Whether two digests are the same, in time that does not depend on where they differ. */
function sameDigest(presented: Uint8Array, recorded: Uint8Array): boolean {
  return presented.length === recorded.length && timingSafeEqual(presented, recorded);
}

/**
 * `reason`, unless the signature does not verify: then `invalid_signature`, as when the signature
 * was checked first (a refused token is rare, and costs what it cost before).
 */
async function refuseSigned(
  token: string,
  key: LoadedKey,
  options: JWTVerifyOptions,
  reason: OwnTokenFailure,
): Promise<OwnTokenRefused> {
  return failure((await signatureVerifies(token, key, options)) ? reason : 'invalid_signature');
}

/**
 * Whether `key` signed `token`, whose header already names the key's `alg` and no `crit`:
 * verifyJwt with the key's `alg` alone allowed and the token's claim options. jose checks the
 * claims only once the signature verified, so a token refused for its claims was signed.
 */
async function signatureVerifies(token: string, key: LoadedKey, options: JWTVerifyOptions): Promise<boolean> {
  try {
    await verifyJwt(token, key.publicKey, { ...options, algorithms: [key.alg] });
    return true;
  } catch (error) {
    return error instanceof joseErrors.JWTClaimValidationFailed || error instanceof joseErrors.JWTExpired;
  }
}
