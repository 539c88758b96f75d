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
 * instance and after a restart (§11.1, CA-12). Server nonces (§8) are not used.
 */
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import { CHALLENGE_OK_WINDOW } from 'oidc-provider/lib/helpers/challenge.js';
import validateDpop from 'oidc-provider/lib/helpers/validate_dpop.js';
import { accept, refuse } from '../domain/refusal.js';
import type { Result } from '../domain/types.js';

/** A proof that passed every check: the key it binds the issued token to, by thumbprint. */
export interface DpopProof {
  /** RFC 7638 JWK thumbprint of the proof's public key. */
  readonly jkt: string;
}

export interface DpopProofVerifierDeps {
  /** Spends `jti` for the key `jkt` until `expiresAt`: true the first time only, on any instance. */
  readonly claimProof: (jkt: string, jti: string, expiresAt: Date) => Promise<boolean>;
}

const DPOP_HEADER = 'dpop';

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
      throw error;
    }
    if (proof === undefined) return invalidProof('the DPoP header is empty');
    const spendableUntil = new Date((proof.iat + CHALLENGE_OK_WINDOW + 1) * 1000);
    if (!(await this.#deps.claimProof(proof.thumbprint, proof.jti, spendableUntil))) {
      return refuse('dpop_proof_replayed', 'invalid_dpop_proof', 'DPoP proof jti was already used');
    }
    return accept({ jkt: proof.thumbprint });
  }
}
