/**
 * Introspection (RFC 7662) and revocation (RFC 7009) of this service's own access tokens
 * (CONTRACT §3.4). oidc-provider's introspection covers only its opaque tokens (DESIGN.md), so
 * both are ours: a token is one of this service's RFC 9068 JWTs (signature by a current or
 * recently retired key, `typ` at+jwt, `iss`) that lineage recorded.
 *
 * An agent may see or revoke a token issued to it (`aud`), by it (`client_id`) or in whose chain
 * it holds a place (lineage's `chainAgents`). A token is active only while it is unexpired, neither
 * it nor an ancestor is revoked, and every agent in its chain is enabled. Every other answer is
 * `{"active": false}`, the same for a token that does not exist and one the caller may not see.
 */
import { decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import type { LineageStore, RevokedToken, TokenStanding } from '../infra/lineage-store.js';
import type { Registry } from '../infra/registry.js';
import type { KeySet } from '../infra/signing-keys.js';
import {
  ACCESS_TOKEN_TYP,
  CLAIM_ACT,
  CLAIM_CLIENT_ID,
  CLAIM_SCOPE,
  CLAIM_TXN,
  MAX_INPUT_TOKEN_LENGTH,
} from './constants.js';
import { CLIENT_ASSERTION_ALGS, CLIENT_AUTH_METHODS } from './provider.js';

export const INTROSPECTION_PATH = '/token/introspection';
export const REVOCATION_PATH = '/token/revocation';

/** RFC 8414 §2 metadata of the two endpoints, as absolute URLs under the issuer. */
export function tokenManagementMetadata(issuer: string): Record<string, unknown> {
  const base = issuer.replace(/\/+$/, '');
  return {
    introspection_endpoint: base + INTROSPECTION_PATH,
    introspection_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    introspection_endpoint_auth_signing_alg_values_supported: [...CLIENT_ASSERTION_ALGS],
    revocation_endpoint: base + REVOCATION_PATH,
    revocation_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    revocation_endpoint_auth_signing_alg_values_supported: [...CLIENT_ASSERTION_ALGS],
  };
}

/** RFC 7009 §2.1 `token_type_hint` values (IANA registry). Every token this service issues is an access token. */
export const TOKEN_TYPE_HINTS = new Set(['access_token', 'refresh_token']);

/** RFC 7662 §2.2 answer. */
export type IntrospectionResponse =
  | { readonly active: false }
  | {
      readonly active: true;
      readonly iss: string;
      readonly sub: string;
      readonly aud: string | string[];
      readonly scope: string;
      readonly client_id: string;
      readonly act?: unknown;
      readonly txn: string;
      readonly iat: number;
      readonly exp: number;
      readonly jti: string;
      readonly token_type: 'Bearer';
      /** Number of actors in the chain (CONTRACT §3.4). */
      readonly depth: number;
    };

const INACTIVE: IntrospectionResponse = Object.freeze({ active: false });
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** A verified token of this service and what lineage knows of it. */
interface KnownToken {
  readonly claims: JWTPayload & { jti: string; sub: string; exp: number; iat: number };
  readonly clientId: string;
  readonly audiences: readonly string[];
  readonly standing: TokenStanding;
  /** Every agent holding a place in the chain: lineage's list, the agent subject, the actor. */
  readonly participants: readonly string[];
}

export interface TokenManagementDeps {
  readonly issuer: string;
  readonly keys: () => KeySet;
  readonly lineage: LineageStore;
  readonly registry: Registry;
  readonly clockToleranceSeconds: number;
}

export type RevocationOutcome =
  | { readonly kind: 'not_found' }
  | { readonly kind: 'not_permitted'; readonly jti: string }
  | { readonly kind: 'revoked'; readonly tokens: readonly RevokedToken[] };

export class TokenManagement {
  readonly #deps: TokenManagementDeps;

  constructor(deps: TokenManagementDeps) {
    this.#deps = deps;
  }

  /** RFC 7662 §2.2 for the agent `callerId`. */
  async introspect(token: string, callerId: string): Promise<IntrospectionResponse> {
    const known = await this.#find(token);
    if (!known || !isVisibleTo(known, callerId)) return INACTIVE;
    const { claims, standing } = known;
    if (standing.revoked || claims.exp <= Math.floor(Date.now() / 1000)) return INACTIVE;
    if (!(await this.#chainIsLive(known.participants))) return INACTIVE;
    return {
      active: true,
      iss: claims.iss as string,
      sub: claims.sub,
      aud: claims.aud as string | string[],
      scope: typeof claims[CLAIM_SCOPE] === 'string' ? (claims[CLAIM_SCOPE] as string) : '',
      client_id: known.clientId,
      ...(claims[CLAIM_ACT] !== undefined ? { act: claims[CLAIM_ACT] } : {}),
      txn: claims[CLAIM_TXN] as string,
      iat: claims.iat,
      exp: claims.exp,
      jti: claims.jti,
      token_type: 'Bearer',
      depth: standing.depth,
    };
  }

  /**
   * RFC 7009 §2.1: revokes the token and every token derived from it, when the caller may. A token
   * that is not one of ours (or is malformed, or has expired) is `not_found`: the endpoint answers
   * 200 all the same (§2.2).
   */
  async revoke(token: string, callerId: string): Promise<RevocationOutcome> {
    const known = await this.#find(token);
    if (!known) return { kind: 'not_found' };
    if (!isVisibleTo(known, callerId)) return { kind: 'not_permitted', jti: known.claims.jti };
    const tokens = await this.#deps.lineage.revokeTree([known.claims.jti], {
      clientId: callerId,
      description: `revoked by ${callerId} at the revocation endpoint`,
    });
    return { kind: 'revoked', tokens };
  }

  /**
   * The token as one of this service's access tokens, verified, with its lineage; null when it is
   * anything else. Cheap structural checks run before any key or database is touched.
   */
  async #find(token: string): Promise<KnownToken | null> {
    if (token.length > MAX_INPUT_TOKEN_LENGTH || !COMPACT_JWS.test(token)) return null;
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      return null;
    }
    const key = kid === undefined ? undefined : this.#deps.keys().verification.get(kid);
    if (!key) return null;
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(token, key.publicKey, {
        algorithms: [key.alg],
        typ: ACCESS_TOKEN_TYP, // RFC 9068 §4
        issuer: this.#deps.issuer,
        clockTolerance: this.#deps.clockToleranceSeconds,
        requiredClaims: ['exp', 'iat', 'jti', 'sub'],
      }));
    } catch {
      return null;
    }
    const clientId = claims[CLAIM_CLIENT_ID];
    if (
      typeof claims.jti !== 'string' ||
      typeof claims.sub !== 'string' ||
      typeof claims.exp !== 'number' ||
      typeof claims.iat !== 'number' ||
      typeof clientId !== 'string' ||
      typeof claims[CLAIM_TXN] !== 'string'
    ) {
      return null;
    }
    const standing = await this.#deps.lineage.standing(claims.jti);
    if (!standing) return null;
    const audiences = typeof claims.aud === 'string' ? [claims.aud] : (claims.aud ?? []);
    const participants = [
      ...new Set([...standing.chainAgents, ...(standing.subjectIsAgent ? [claims.sub] : []), clientId]),
    ];
    return {
      claims: claims as KnownToken['claims'],
      clientId,
      audiences,
      standing,
      participants,
    };
  }

  /** CONTRACT §3.4: a chain holding a disabled or deleted agent is dead. */
  async #chainIsLive(participants: readonly string[]): Promise<boolean> {
    const agents = await this.#deps.registry.getAgents(participants);
    return participants.every((id) => agents.get(id)?.status === 'enabled');
  }
}

/** Issued to the caller, by it, or with the caller in its chain. */
function isVisibleTo(token: KnownToken, callerId: string): boolean {
  return (
    token.audiences.includes(callerId) || token.clientId === callerId || token.participants.includes(callerId)
  );
}
