/**
 * Types of the oidc-provider internals this service reuses (the package has no `exports` map, so
 * its modules can be imported by path): its stateless RFC 9449 §8 DPoP server nonces and their window (protocol/dpop-proof.ts).
 */
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
