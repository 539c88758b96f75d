/**
 * A `private_key_jwt` client assertion as RFC 10070 (updating RFC 7523) asks: `iss` = `sub` = the
 * client id, `aud` = the authorization server's issuer identifier as its sole value (never the
 * token endpoint URL), `typ: client-authentication+jwt`, a short lifetime and a unique `jti`.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, type CryptoKey, type KeyObject } from 'jose';

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const CLIENT_ASSERTION_TYP = 'client-authentication+jwt';

export interface ClientAssertionOptions {
  readonly clientId: string;
  /** The authorization server's issuer identifier. */
  readonly issuer: string;
  readonly privateKey: CryptoKey | KeyObject;
  /** Default ES256. */
  readonly alg?: string;
  /** The `kid` of the key in the agent's registered JWKS. */
  readonly kid?: string;
  /** Seconds; default 60 (agent-sts accepts at most 300). */
  readonly lifetime?: number;
}

export async function createClientAssertion(options: ClientAssertionOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({
      alg: options.alg ?? 'ES256',
      typ: CLIENT_ASSERTION_TYP,
      ...(options.kid === undefined ? {} : { kid: options.kid }),
    })
    .setIssuer(options.clientId)
    .setSubject(options.clientId)
    .setAudience(options.issuer)
    .setJti(randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + (options.lifetime ?? 60))
    .sign(options.privateKey);
}
