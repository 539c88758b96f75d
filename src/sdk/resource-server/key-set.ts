/**
 * The signing keys of one agent-sts issuer, as jose's remote key set: fetched on first use,
 * cached, and refetched when a token names a `kid` it does not hold (agent-sts signs with a new key
 * at once after an emergency key replacement). The `jwks_uri` comes from the issuer's RFC 8414
 * metadata unless given. Create one per issuer and reuse it: the cache lives in it.
 */
import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import { wellKnownUrl } from '../shared/well-known.js';
import { AgentTokenError } from './errors.js';

export interface AgentStsKeySetOptions {
  /** The agent-sts issuer identifier (`ISSUER`). */
  readonly issuer: string;
  /** Skips discovery. */
  readonly jwksUri?: string;
  /** Least time between two fetches, in ms (jose `cooldownDuration`). Default 30 000. */
  readonly cooldownDuration?: number;
  /** Longest time a fetched JWKS is used before a refetch, in ms (jose `cacheMaxAge`). Default 600 000. */
  readonly cacheMaxAge?: number;
  /** Timeout of each HTTP request, in ms. Default 5 000. */
  readonly timeoutDuration?: number;
}

interface Metadata {
  readonly issuer?: unknown;
  readonly jwks_uri?: unknown;
}

async function discoverJwksUri(issuer: string, timeout: number): Promise<URL> {
  const response = await fetch(wellKnownUrl(issuer, 'oauth-authorization-server'), {
    headers: { accept: 'application/json' },
    redirect: 'error',
    signal: AbortSignal.timeout(timeout),
  });
  if (!response.ok) throw new Error(`metadata answered ${response.status}`);
  const metadata = (await response.json()) as Metadata;
  // RFC 8414 §3.3: the metadata must name the issuer it was fetched for.
  if (metadata.issuer !== issuer) throw new Error('metadata names another issuer');
  if (typeof metadata.jwks_uri !== 'string') throw new Error('metadata has no jwks_uri');
  return new URL(metadata.jwks_uri);
}

export function createAgentStsKeySet(options: AgentStsKeySetOptions): JWTVerifyGetKey {
  const timeoutDuration = options.timeoutDuration ?? 5_000;
  let keySet: Promise<JWTVerifyGetKey> | undefined;

  async function load(): Promise<JWTVerifyGetKey> {
    const jwksUri = options.jwksUri
      ? new URL(options.jwksUri)
      : await discoverJwksUri(options.issuer, timeoutDuration);
    return createRemoteJWKSet(jwksUri, {
      cooldownDuration: options.cooldownDuration ?? 30_000,
      cacheMaxAge: options.cacheMaxAge ?? 600_000,
      timeoutDuration,
    });
  }

  return async (protectedHeader, token) => {
    keySet ??= load().catch((cause: unknown) => {
      keySet = undefined; // try discovery again on the next token
      throw new AgentTokenError('jwks_unavailable', 'the issuer metadata could not be fetched', { cause });
    });
    return (await keySet)(protectedHeader, token);
  };
}
