/**
 * What both framework adapters do with a request: read the credentials, verify the token for this
 * request, and on refusal the HTTP answer (status, challenges, a small JSON body). The key set and
 * the replay store are created here once per adapter, so the adapters hold all the state.
 */
import type { JWTVerifyGetKey } from 'jose';
import { AgentTokenError } from './errors.js';
import { createAgentStsKeySet } from './key-set.js';
import { readCredentials, type AuthorizationScheme, type HeaderValue } from './read-credentials.js';
import { createMemoryReplayStore } from './replay-store.js';
import {
  verifyAgentToken,
  type AgentToken,
  type DpopOptions,
  type VerifyAgentTokenOptions,
} from './verify-agent-token.js';
import { DEFAULT_DPOP_ALGORITHMS } from './verify-dpop-proof.js';
import { wwwAuthenticate } from './www-authenticate.js';

export interface AgentStsAuthOptions extends Omit<VerifyAgentTokenOptions, 'keys' | 'dpop' | 'request'> {
  /** Default: `createAgentStsKeySet({ issuer })`. */
  readonly keys?: JWTVerifyGetKey;
  /** DPoP acceptance (default: on, with an in-memory replay store); false refuses bound tokens. */
  readonly dpop?: Partial<DpopOptions> | false;
  /** The external base URL of this API, for DPoP `htu` checks behind a proxy. */
  readonly publicUrl?: string | URL;
  /** `realm` of the challenges. */
  readonly realm?: string;
  /** RFC 9728 metadata URL, sent as `resource_metadata` in every challenge. */
  readonly resourceMetadata?: string | URL;
}

export interface IncomingRequest {
  readonly method: string;
  /** Absolute URL as the client addressed it. */
  readonly url: string;
  readonly headers: { authorization?: HeaderValue; dpop?: HeaderValue };
}

export interface Refusal {
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: { error: string; error_description: string };
}

export type Authentication =
  { ok: true; token: AgentToken } | { ok: false; error: AgentTokenError; refusal: Refusal };

export function createRequestAuthenticator(options: AgentStsAuthOptions) {
  const keys = options.keys ?? createAgentStsKeySet({ issuer: options.issuer });
  const dpop: DpopOptions | undefined =
    options.dpop === false ? undefined : { replayStore: createMemoryReplayStore(), ...options.dpop };
  const verifyOptions: VerifyAgentTokenOptions = { ...options, keys, dpop };
  const challengeOptions = {
    realm: options.realm,
    resourceMetadata: options.resourceMetadata,
    bearer: !dpop?.required,
    dpopAlgorithms: dpop ? (dpop.algorithms ?? DEFAULT_DPOP_ALGORITHMS) : (false as const),
  };

  function refusal(error: AgentTokenError, scheme: AuthorizationScheme | undefined): Refusal {
    const headers: Record<string, string | string[]> = { 'cache-control': 'no-store' };
    // A 503 (the JWKS is out of reach) is no challenge: the client did nothing wrong.
    if (error.status !== 503)
      headers['www-authenticate'] = wwwAuthenticate(error, { ...challengeOptions, scheme });
    return {
      status: error.status,
      headers,
      body: {
        error: error.error ?? (error.status === 503 ? 'temporarily_unavailable' : 'unauthorized'),
        error_description: error.message,
      },
    };
  }

  return async function authenticate(request: IncomingRequest): Promise<Authentication> {
    let scheme: AuthorizationScheme | undefined;
    try {
      const credentials = readCredentials(request.headers);
      scheme = credentials.scheme;
      const token = await verifyAgentToken(credentials.token, {
        ...verifyOptions,
        request: { scheme, dpopProof: credentials.proof, method: request.method, url: request.url },
      });
      return { ok: true, token };
    } catch (error) {
      if (!(error instanceof AgentTokenError)) throw error;
      return { ok: false, error, refusal: refusal(error, scheme) };
    }
  };
}
