/**
 * RFC 9449 §4.3 and §7.1: the checks a resource server makes on the DPoP proof that comes with a
 * bound access token. The proof is a `dpop+jwt` signed by the public key in its own `jwk` header,
 * with an asymmetric `alg`; it is for this request (`htm`, `htu`), for this token (`ath`), fresh
 * (`iat`), used once (`jti`), and its key is the one the token is bound to (`cnf.jkt`).
 */
import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, EmbeddedJWK, errors, jwtVerify, type JWK } from 'jose';
import { AgentTokenError } from './errors.js';
import { htuMatches } from './htu.js';
import type { ReplayStore } from './replay-store.js';

/** The asymmetric algorithms agent-sts accepts in proofs (its `dpop_signing_alg_values_supported`). */
export const DEFAULT_DPOP_ALGORITHMS: readonly string[] = ['ES256', 'PS256', 'EdDSA', 'Ed25519'];

export interface DpopRequest {
  /** The HTTP method of the request. */
  readonly method: string;
  /** The absolute URL of the request as the client addressed it (query and fragment ignored). */
  readonly url: string | URL;
}

export interface VerifyDpopProofOptions extends DpopRequest {
  /** The access token presented with the proof. */
  readonly accessToken: string;
  /** The token's `cnf.jkt`. */
  readonly jkt: string;
  readonly replayStore: ReplayStore;
  readonly algorithms?: readonly string[];
  /** How old a proof may be, in seconds. Default 60. */
  readonly maxAge?: number;
  /** Clock skew allowed, in seconds. */
  readonly clockTolerance: number;
}

function refuse(code: 'dpop_proof_invalid' | 'dpop_proof_stale', message: string, cause?: unknown): never {
  throw new AgentTokenError(code, message, { cause });
}

async function verifySignature(proof: string, options: VerifyDpopProofOptions) {
  try {
    return await jwtVerify(proof, EmbeddedJWK, {
      typ: 'dpop+jwt',
      algorithms: [...(options.algorithms ?? DEFAULT_DPOP_ALGORITHMS)],
      maxTokenAge: options.maxAge ?? 60,
      clockTolerance: options.clockTolerance,
      requiredClaims: ['iat', 'jti', 'htm', 'htu'],
    });
  } catch (cause) {
    // jose reports a proof too old as JWTExpired and one dated ahead as a failed iat check.
    const timed = cause instanceof errors.JWTExpired || cause instanceof errors.JWTClaimValidationFailed;
    if (timed && cause.claim === 'iat' && cause.reason === 'check_failed') {
      refuse('dpop_proof_stale', 'DPoP proof iat is outside the acceptable window', cause);
    }
    refuse('dpop_proof_invalid', 'DPoP proof is not a valid dpop+jwt signed by its jwk', cause);
  }
}

/** Resolves when the proof is acceptable and spends its `jti`; throws AgentTokenError otherwise. */
export async function verifyDpopProof(proof: string, options: VerifyDpopProofOptions): Promise<void> {
  const { payload, protectedHeader } = await verifySignature(proof, options);
  if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > 256) {
    refuse('dpop_proof_invalid', 'DPoP proof jti is missing or malformed');
  }
  if (payload.htm !== options.method.toUpperCase()) {
    throw new AgentTokenError('dpop_method_mismatch', 'DPoP proof htm does not match the request method');
  }
  if (!htuMatches(payload.htu, options.url)) {
    throw new AgentTokenError('dpop_url_mismatch', 'DPoP proof htu does not match the request URL');
  }
  // §4.3 check 11 / §7.1: ath is the base64url SHA-256 of the access token's ASCII.
  const ath = createHash('sha256').update(options.accessToken, 'ascii').digest('base64url');
  if (payload.ath !== ath) {
    throw new AgentTokenError('dpop_ath_mismatch', 'DPoP proof ath does not match the access token');
  }
  // §7.1: the proof's key is the key the token is bound to.
  if ((await calculateJwkThumbprint(protectedHeader.jwk as JWK)) !== options.jkt) {
    throw new AgentTokenError(
      'dpop_key_mismatch',
      'the DPoP proof is not signed by the key the token is bound to',
    );
  }
  // §11.1: each jti once per key, for as long as its iat keeps the proof acceptable.
  const expiresAt = new Date(((payload.iat ?? 0) + (options.maxAge ?? 60) + options.clockTolerance) * 1000);
  if (!(await options.replayStore.claim(`${options.jkt}:${payload.jti}`, expiresAt))) {
    throw new AgentTokenError('dpop_proof_replayed', 'DPoP proof jti has been used before');
  }
}
