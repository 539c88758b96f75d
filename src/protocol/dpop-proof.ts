/**
 * DPoP proofs at the token endpoint (RFC 9449 §4.3), checked here as oidc-provider's own
 * validation does (shared with it: the stateless nonces and their window): `typ` dpop+jwt, an
 * `alg` of `dpop_signing_alg_values_supported` (asymmetric only), a public `jwk` that verifies the
 * signature, `jti`, `htm`, `htu` (query and fragment ignored) and `iat` within five minutes of the
 * server's clock; then the `jti` is spent. Beyond oidc-provider's checks:
 *
 * - exactly one `DPoP` header (§4.3 check 1): Node joins repeated headers into one value;
 * - a `jti` is spent for as long as its `iat` keeps the proof acceptable (`iat` + five minutes),
 *   not five minutes from now, so a proof dated ahead cannot be replayed once the record lapses;
 * - a proof with a nonce is still held to the five-minute `iat` window: the window bounds how long
 *   its `jti` must be remembered.
 *
 * Proofs are spent per key (its thumbprint), atomically in PostgreSQL, so a replay is caught on any
 * instance and after a restart (§11.1, CA-12).
 *
 * Server nonces (§8) are optional (`DPOP_NONCE=required`, ADR 0012), stateless: HKDF over one-minute
 * steps of a secret derived here from the key-encryption key every instance shares, so a nonce from
 * one instance is accepted by all. With nonces on, a proof without a current one is refused with
 * `use_dpop_nonce` and a fresh nonce in `DPoP-Nonce`, and every accepted proof's answer carries the
 * nonce to use next. With nonces off, a proof carrying a `nonce` is refused.
 */
import { hkdfSync } from 'node:crypto';
import { calculateJwkThumbprint, type JWK, type JWTPayload } from 'jose';
import ServerChallenge, { CHALLENGE_OK_WINDOW } from 'oidc-provider/lib/helpers/challenge.js';
import { accept, refuse } from '../domain/refusal.js';
import type { Result } from '../domain/types.js';
import { epochSeconds } from './clock.js';
import { verifyJwtWithEmbeddedJwk } from './jws-verify.js';
import type { TokenRequest } from './token-request.js';

/** A proof that passed every check: the key it binds the issued token to, by thumbprint. */
export interface DpopProof {
  /** RFC 7638 JWK thumbprint of the proof's public key. */
  readonly jkt: string;
}

export interface DpopProofVerifierDeps {
  /** Spends `jti` for the key `jkt` until `expiresAt`: true the first time only, on any instance. */
  readonly claimProof: (jkt: string, jti: string, expiresAt: Date) => Promise<boolean>;
  /** RFC 9449 §8: the secret of the server nonces every proof must then carry; null when off. */
  readonly nonceSecret: Buffer | null;
  /** `dpop_signing_alg_values_supported`. */
  readonly algorithms: readonly string[];
  /** The token endpoint's URL, which a proof's `htu` must name (RFC 9449 §4.3 check 9). */
  readonly tokenEndpoint: string;
}

/** RFC 9449 §8.1: where the server hands out the nonce to use. */
const DPOP_NONCE_HEADER = 'DPoP-Nonce';
/** HKDF `info` of the nonce secret: a key of its own, never the key-encryption key itself. */
const NONCE_SECRET_INFO = 'agent-sts DPoP server nonce v1';
/** The HKDF `info` of each nonce step, as oidc-provider's own DPoP nonces use it. */
const NONCE_STEP_INFO = 'DPoP';

/**
 * The secret of RFC 9449 §8 server nonces, derived (RFC 5869 HKDF-SHA256) from the key-encryption
 * key that every instance shares, so every instance issues and accepts the same nonces.
 */
export function dpopNonceSecret(keyEncryptionKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', keyEncryptionKey, Buffer.alloc(0), NONCE_SECRET_INFO, 32));
}

function invalidProof(description: string): Result<never> {
  return refuse('dpop_proof_invalid', 'invalid_dpop_proof', description);
}

const NONCE_MISSING = refuse(
  'dpop_nonce_missing',
  'use_dpop_nonce',
  'DPoP proof must carry the nonce sent in DPoP-Nonce',
);
const NONCE_NOT_CURRENT = refuse(
  'dpop_nonce_invalid',
  'use_dpop_nonce',
  'DPoP proof nonce is not current: use the one sent in DPoP-Nonce',
);

export class DpopProofVerifier {
  readonly #deps: DpopProofVerifierDeps;
  readonly #nonces: ServerChallenge | null;
  readonly #htu: string;

  constructor(deps: DpopProofVerifierDeps) {
    this.#deps = deps;
    this.#nonces = deps.nonceSecret ? new ServerChallenge(deps.nonceSecret, NONCE_STEP_INFO) : null;
    this.#htu = new URL(deps.tokenEndpoint).href;
  }

  /**
   * The request's proof, checked and spent; null when it carries no `DPoP` header. A storage
   * failure throws: the caller answers 503. With nonces on, the answer names the nonce to use next,
   * whatever the outcome (RFC 9449 §8.2).
   */
  async verify(request: TokenRequest): Promise<Result<DpopProof | null>> {
    const headers = request.dpopProofs;
    if (headers === undefined) return accept(null);
    if (headers.length !== 1) return invalidProof('exactly one DPoP header is allowed');
    const proof = headers[0] ?? '';
    if (proof === '') return invalidProof('the DPoP header is empty');
    const nextNonce = this.#nonces?.nextChallenge();
    if (nextNonce !== undefined) request.responseHeaders.set(DPOP_NONCE_HEADER, nextNonce);

    let payload: JWTPayload;
    let jwk: JWK;
    try {
      const verified = await verifyJwtWithEmbeddedJwk(proof, {
        algorithms: [...this.#deps.algorithms],
        typ: 'dpop+jwt',
      });
      payload = verified.payload;
      jwk = verified.protectedHeader.jwk as JWK;
    } catch {
      return invalidProof('DPoP proof is not a dpop+jwt signed by its public jwk with an accepted alg');
    }
    const problem = this.#claimsProblem(payload);
    if (problem !== null) return problem;
    const iat = payload.iat as number;
    const jti = payload.jti as string;
    const jkt = await calculateJwkThumbprint(jwk);
    const spendableUntil = new Date((iat + CHALLENGE_OK_WINDOW + 1) * 1000);
    if (!(await this.#deps.claimProof(jkt, jti, spendableUntil))) {
      return refuse('dpop_proof_replayed', 'invalid_dpop_proof', 'DPoP proof jti was already used');
    }
    return accept({ jkt });
  }

  /** RFC 9449 §4.3 checks 4–11 on the verified claims, and §8's nonce; null when all pass. */
  #claimsProblem(payload: JWTPayload): Result<never> | null {
    if (typeof payload.iat !== 'number' || !payload.iat) {
      return invalidProof('DPoP proof must have a iat number property');
    }
    if (typeof payload.jti !== 'string' || !payload.jti) {
      return invalidProof('DPoP proof must have a jti string property');
    }
    const { nonce } = payload;
    if (nonce !== undefined && typeof nonce !== 'string') {
      return invalidProof('DPoP proof nonce must be a string');
    }
    if (nonce && this.#nonces === null) return invalidProof('DPoP nonces are not supported');
    // Even with a nonce: the window bounds how long the proof's jti must be remembered.
    if (Math.abs(epochSeconds() - payload.iat) > CHALLENGE_OK_WINDOW) {
      return this.#nonces !== null && !nonce
        ? NONCE_MISSING
        : invalidProof('DPoP proof iat is not recent enough');
    }
    if (payload.htm !== 'POST') return invalidProof('DPoP proof htm mismatch');
    const htu = typeof payload.htu === 'string' ? URL.parse(payload.htu) : null;
    if (htu === null) return invalidProof('DPoP proof htu mismatch');
    htu.hash = '';
    htu.search = '';
    if (htu.href !== this.#htu) return invalidProof('DPoP proof htu mismatch');
    if (this.#nonces !== null) {
      if (!nonce) return NONCE_MISSING;
      if (!this.#nonces.checkChallenge(nonce)) return NONCE_NOT_CURRENT;
    }
    return null;
  }
}
