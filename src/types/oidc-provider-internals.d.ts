/**
 * Types of the oidc-provider internals this service reuses (the package has no `exports` map, so
 * its modules can be imported by path): its RFC 9449 DPoP proof validation (protocol/dpop-proof.ts).
 */
declare module 'oidc-provider/lib/helpers/validate_dpop.js' {
  import type { JWTPayload } from 'jose';
  import type { KoaContextWithOIDC, Provider } from 'oidc-provider';

  export interface ValidatedDpopProof {
    /** RFC 7638 thumbprint of the proof's `jwk`. */
    readonly thumbprint: string;
    readonly jti: string;
    readonly iat: number;
  }

  /**
   * RFC 9449 §4.3 checks of the request's `DPoP` header; undefined when there is none (or it is
   * empty). Throws `InvalidDpopProof` (or `UseDpopNonce` when nonces are configured).
   */
  export default function validateDpop(
    provider: Provider,
    ctx: KoaContextWithOIDC,
    accessToken?: string,
  ): Promise<ValidatedDpopProof | undefined>;

  /** The verified claims of the request's proof, once `validateDpop` has accepted it. */
  export function getDpopJwt(
    provider: Provider,
    ctx: KoaContextWithOIDC,
  ): { readonly payload: JWTPayload } | undefined;
}

declare module 'oidc-provider/lib/helpers/challenge.js' {
  /** Seconds a DPoP proof's `iat` may differ from the server's clock. */
  export const CHALLENGE_OK_WINDOW: number;

  /**
   * Stateless server nonces (RFC 9449 §8): HKDF of the secret over 60-second steps; issues the
   * next step's value and accepts two steps either side of the current one.
   */
  export default class ServerChallenge {
    constructor(secret: Buffer, info: string);
    nextChallenge(): string;
    checkChallenge(challenge: string): boolean;
  }
}
