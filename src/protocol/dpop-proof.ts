/**
 * DPoP proofs at the token endpoint (RFC 9449 §4.3). oidc-provider's own validation checks the
 * proof: `typ` dpop+jwt, an `alg` of `dpop_signing_alg_values_supported` (asymmetric only), a
 * public `jwk` that verifies the signature, `jti`, `htm`, `htu` (query and fragment ignored) and
 * `iat` within five minutes of the server's clock. Its built-in grants then spend the `jti`; ours
 * do it here, with two checks oidc-provider leaves out:
 *
 * - exactly one `DPoP` header (§4.3 check 1): Node joins repeated headers into one value;
 * - a `jti` is spent for as long as its `iat` keeps the proof acceptable (`iat` + five minutes),
 *   not five minutes from now, so a proof dated ahead cannot be replayed once the record lapses.
 *
 * Proofs are spent per key (its thumbprint), atomically in PostgreSQL, so a replay is caught on any
 * instance and after a restart (§11.1, CA-12).
 *
 * Server nonces (§8) are optional (`DPOP_NONCE=required`, ADR 0012). oidc-provider issues and checks
 * them, stateless: HKDF over one-minute steps of a secret derived here from the key-encryption key
 * every instance shares, so a nonce from one instance is accepted by all. With nonces on, a proof
 * without a current one is refused with `use_dpop_nonce` and a fresh nonce in `DPoP-Nonce`, and
 * every accepted proof's answer carries the nonce to use next. A proof with a nonce is still held
 * to the five-minute `iat` window, which oidc-provider waives for it: the window bounds how long
 * its `jti` must be remembered. With nonces off, a proof carrying a `nonce` is refused.
 */
import { hkdfSync } from 'node:crypto';
import { decodeJwt } from 'jose';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import { CHALLENGE_OK_WINDOW } from 'oidc-provider/lib/helpers/challenge.js';
import validateDpop, { getDpopJwt } from 'oidc-provider/lib/helpers/validate_dpop.js';
import { accept, refuse } from '../domain/refusal.js';
import type { Result } from '../domain/types.js';
import { epochSeconds } from './clock.js';

/** A proof that passed every check: the key it binds the issued token to, by thumbprint. */
export interface DpopProof {
  /** RFC 7638 JWK thumbprint of the proof's public key. */
  readonly jkt: string;
}

export interface DpopProofVerifierDeps {
  /** Spends `jti` for the key `jkt` until `expiresAt`: true the first time only, on any instance. */
  readonly claimProof: (jkt: string, jti: string, expiresAt: Date) => Promise<boolean>;
  /** RFC 9449 §8: the provider requires server nonces (its `features.dPoP.nonceSecret` is set). */
  readonly requireNonce: boolean;
}

const DPOP_HEADER = 'dpop';
/** RFC 9449 §8.1: where the server hands out the nonce to use. */
const DPOP_NONCE_HEADER = 'DPoP-Nonce';
/** HKDF `info` of the nonce secret: a key of its own, never the key-encryption key itself. */
const NONCE_SECRET_INFO = 'agent-sts DPoP server nonce v1';

/**
 * The secret of RFC 9449 §8 server nonces, derived (RFC 5869 HKDF-SHA256) from the key-encryption
 * key that every instance shares, so every instance issues and accepts the same nonces.
 */
export function dpopNonceSecret(keyEncryptionKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', keyEncryptionKey, Buffer.alloc(0), NONCE_SECRET_INFO, 32));
}

/**
 * RFC 9449 §8: the proof (signature-verified by then) carries no nonce, or one that is not current.
 * oidc-provider has already put a fresh nonce in the `DPoP-Nonce` response header.
 */
function nonceRefusal(proof: string): Result<never> {
  let carried: unknown;
  try {
    carried = decodeJwt(proof).nonce;
  } catch {
    carried = undefined;
  }
  return typeof carried !== 'string' || carried === ''
    ? refuse('dpop_nonce_missing', 'use_dpop_nonce', 'DPoP proof must carry the nonce sent in DPoP-Nonce')
    : refuse(
        'dpop_nonce_invalid',
        'use_dpop_nonce',
        'DPoP proof nonce is not current: use the one sent in DPoP-Nonce',
      );
}

function invalidProof(description: string): Result<never> {
  return refuse('dpop_proof_invalid', 'invalid_dpop_proof', description);
}

/** oidc-provider's description, or ours when it wraps a JOSE failure in a generic one. */
function describe(error: InstanceType<typeof errors.InvalidDpopProof>): string {
  const generic = 'DPoP proof is not a dpop+jwt signed by its public jwk with an accepted alg';
  return error.cause !== undefined ? generic : (error.error_description ?? 'invalid DPoP proof');
}

export class DpopProofVerifier {
  readonly #deps: DpopProofVerifierDeps;

  constructor(deps: DpopProofVerifierDeps) {
    this.#deps = deps;
  }

  /**
   * The request's proof, checked and spent; null when it carries no `DPoP` header. A storage
   * failure throws: the caller answers 503.
   */
  async verify(ctx: KoaContextWithOIDC): Promise<Result<DpopProof | null>> {
    const headers = ctx.req.headersDistinct[DPOP_HEADER];
    if (headers === undefined) return accept(null);
    if (headers.length !== 1) return invalidProof('exactly one DPoP header is allowed');
    let proof;
    try {
      proof = await validateDpop(ctx.oidc.provider, ctx);
    } catch (error) {
      if (error instanceof errors.InvalidDpopProof) return invalidProof(describe(error));
      if (error instanceof errors.UseDpopNonce) return nonceRefusal(headers[0] ?? '');
      throw error;
    }
    if (proof === undefined) return invalidProof('the DPoP header is empty');
    if (Math.abs(epochSeconds() - proof.iat) > CHALLENGE_OK_WINDOW) {
      return invalidProof('DPoP proof iat is not recent enough');
    }
    const spendableUntil = new Date((proof.iat + CHALLENGE_OK_WINDOW + 1) * 1000);
    if (!(await this.#deps.claimProof(proof.thumbprint, proof.jti, spendableUntil))) {
      return refuse('dpop_proof_replayed', 'invalid_dpop_proof', 'DPoP proof jti was already used');
    }
    if (this.#deps.requireNonce) this.#announceNonce(ctx);
    return accept({ jkt: proof.thumbprint });
  }

  /**
   * RFC 9449 §8.2: the answer to an accepted proof names the nonce to use next. oidc-provider sets a
   * newer one when the proof's is not the latest; otherwise the proof's own nonce is still it.
   */
  #announceNonce(ctx: KoaContextWithOIDC): void {
    if (ctx.response.get(DPOP_NONCE_HEADER)) return;
    const nonce = getDpopJwt(ctx.oidc.provider, ctx)?.payload.nonce;
    if (typeof nonce === 'string') ctx.set(DPOP_NONCE_HEADER, nonce);
  }
}
