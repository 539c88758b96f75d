/**
 * Introspection (RFC 7662) and revocation (RFC 7009) of this service's own access tokens
 * (CONTRACT §3.4). oidc-provider's introspection covers only its opaque tokens (DESIGN.md), so
 * both are ours: a token is one the OwnTokenVerifier accepts (own-token.ts).
 *
 * An agent may see or revoke a token issued to it (`aud`), by it (`client_id`) or in whose chain
 * it holds a place. A token is active only while it is unexpired, neither it nor an ancestor is
 * revoked, every agent in its chain is enabled, and the agent that obtained it is still allowed its
 * audience and at least one of its scopes; its `scope` is what that agent is still allowed (ADR
 * 0013). Every other answer is `{"active": false}`, the same for a token that does not exist and
 * one the caller may not see.
 */
import { formatScopes } from '../domain/scopes.js';
import type { LineageStore, RevokedToken } from '../infra/lineage-store.js';
import { accessTokenType, bindingOf } from './confirmation.js';
import { CLAIM_ACT, CLAIM_CLIENT_ID, CLAIM_TXN } from './constants.js';
import type { OwnToken, OwnTokenVerifier } from './own-token.js';
import { CLIENT_ASSERTION_ALGS, CLIENT_AUTH_METHODS } from './provider.js';
import { epochSeconds } from './clock.js';
import { audiencesOf } from './compact-jwt.js';

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
      /** `DPoP` for a DPoP-bound token, whose `cnf` is given too (RFC 9449 §6.2). */
      readonly token_type: string;
      readonly cnf?: { readonly jkt: string };
      /** Number of actors in the chain (CONTRACT §3.4). */
      readonly depth: number;
    };

const INACTIVE: IntrospectionResponse = Object.freeze({ active: false });

export interface TokenManagementDeps {
  readonly ownTokens: OwnTokenVerifier;
  readonly lineage: LineageStore;
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
    const now = epochSeconds();
    const known = await this.#find(token, now);
    if (!known || !isVisibleTo(known, callerId)) return INACTIVE;
    const { payload: claims, standing } = known;
    if (standing.revoked || claims.exp <= now) return INACTIVE;
    if (!(await this.#deps.ownTokens.chainIsLive(known))) return INACTIVE;
    // ADR 0013: a resource server that introspects learns the privilege that still stands.
    const privilege = await this.#deps.ownTokens.standingPrivilege(known);
    if (!privilege.audienceStands || privilege.scopes.length === 0) return INACTIVE;
    const binding = bindingOf(claims);
    const jkt = binding?.kind === 'jkt' ? binding.jkt : null;
    return {
      active: true,
      iss: claims.iss,
      sub: claims.sub,
      aud: claims.aud as string | string[],
      scope: formatScopes(privilege.scopes),
      client_id: claims[CLAIM_CLIENT_ID],
      ...(claims[CLAIM_ACT] !== undefined ? { act: claims[CLAIM_ACT] } : {}),
      txn: claims[CLAIM_TXN],
      iat: claims.iat,
      exp: claims.exp,
      jti: claims.jti,
      token_type: accessTokenType(jkt),
      ...(jkt !== null ? { cnf: { jkt } } : {}),
      depth: standing.depth,
    };
  }

  /**
   * RFC 7009 §2.1: revokes the token and every token derived from it, when the caller may. A token
   * that is not one of ours (or is malformed, or has expired) is `not_found`: the endpoint answers
   * 200 all the same (§2.2).
   */
  async revoke(token: string, callerId: string): Promise<RevocationOutcome> {
    const known = await this.#find(token, epochSeconds());
    if (!known) return { kind: 'not_found' };
    if (!isVisibleTo(known, callerId)) return { kind: 'not_permitted', jti: known.payload.jti };
    const tokens = await this.#deps.lineage.revokeTree([known.payload.jti], {
      clientId: callerId,
      description: `revoked by ${callerId} at the revocation endpoint`,
    });
    return { kind: 'revoked', tokens };
  }

  /** The token as one of this service's, verified, with its lineage; null when it is anything else. */
  async #find(token: string, now: number): Promise<OwnToken | null> {
    const verified = await this.#deps.ownTokens.verify(token, { now });
    return verified.ok ? verified.value : null;
  }
}

/** Issued to the caller, by it, or with the caller in its chain. */
function isVisibleTo(token: OwnToken, callerId: string): boolean {
  const clientId = token.payload[CLAIM_CLIENT_ID];
  return (
    audiencesOf(token.payload).includes(callerId) ||
    clientId === callerId ||
    token.participants.includes(callerId)
  );
}
