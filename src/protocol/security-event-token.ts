/**
 * Revocation Security Event Tokens (RFC 8417), as this service transmits them (ADR 0026). One SET
 * reports one revocation to one receiver:
 *
 * - header `typ: secevent+jwt` (RFC 8417 §2.3), `alg` ES256 and the `kid` of the service's active
 *   key, so a receiver verifies it with the same JWKS it verifies access tokens with;
 * - `iss` the issuer, `aud` the receiver, `iat`, `jti` (the outbox row's id: the same on every
 *   redelivery, so receivers drop duplicates), `toe` the time of the revocation (RFC 8417 §2.2);
 * - `events` with one member, {@link TOKENS_REVOKED_EVENT}: the revoked token ids (`jtis`), the
 *   revoked chains (`txns`, for a chain revoked whole), the `reason` and `expires_at`, the latest
 *   `exp` of the revoked tokens: a receiver need not remember the entries any longer.
 *
 * No `exp` and no `sub`: a SET states a fact, and is no access token (RFC 8417 §3 and §4).
 */
import { SignJWT, type CryptoKey } from 'jose';
import type { RevocationEvent } from '../infra/security-events.js';

/** RFC 8417 §2.3: the media type of a SET, as the JWT `typ`. */
export const SECEVENT_JWT_TYPE = 'secevent+jwt';
/** RFC 8935 §2: the request body's media type. */
export const SECEVENT_CONTENT_TYPE = 'application/secevent+jwt';
/**
 * RFC 8417 §2.2 event type identifier: the tokens and chains named were revoked at agent-sts.
 * A URI under this project's namespace (the one its problem types use), so it never collides.
 */
export const TOKENS_REVOKED_EVENT = 'https://agent-sts.dev/secevent/tokens-revoked';
/** Delivery methods, as the OpenID Shared Signals Framework names them. */
export const PUSH_DELIVERY_METHOD = 'urn:ietf:rfc:8935';
export const POLL_DELIVERY_METHOD = 'urn:ietf:rfc:8936';

export interface SigningKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: CryptoKey;
}

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

/** The SET's `events` member for one revocation. */
export function revocationEventPayload(event: RevocationEvent): Record<string, unknown> {
  return {
    [TOKENS_REVOKED_EVENT]: {
      ...(event.jtis.length > 0 ? { jtis: [...event.jtis] } : {}),
      ...(event.txns.length > 0 ? { txns: [...event.txns] } : {}),
      reason: event.reason,
      expires_at: Math.ceil(event.tokensExpireAt.getTime() / 1000),
    },
  };
}

/** Signs the SET of one outbox row, now, with the key given (the active one). */
export function signRevocationSet(
  event: RevocationEvent,
  issuer: string,
  key: SigningKey,
  now: Date = new Date(),
): Promise<string> {
  return new SignJWT({ toe: seconds(event.revokedAt), events: revocationEventPayload(event) })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: SECEVENT_JWT_TYPE })
    .setIssuer(issuer)
    .setAudience(event.audience)
    .setIssuedAt(seconds(now))
    .setJti(event.jti)
    .sign(key.privateKey);
}

/** RFC 8936 poll endpoint, for receivers registered with `delivery: poll`. */
export const SET_POLL_PATH = '/security-events/poll';

/**
 * What the discovery metadata says of SET delivery. RFC 8414 has no members for it; these name
 * the poll endpoint, the delivery methods (as the Shared Signals Framework names them) and the
 * one event type, so a resource server can find all three where it finds `jwks_uri`.
 */
export function securityEventMetadata(issuer: string): Record<string, unknown> {
  return {
    security_event_poll_endpoint: issuer.replace(/\/+$/, '') + SET_POLL_PATH,
    security_event_delivery_methods_supported: [PUSH_DELIVERY_METHOD, POLL_DELIVERY_METHOD],
    security_event_types_supported: [TOKENS_REVOKED_EVENT],
  };
}
