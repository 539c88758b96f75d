/**
 * RFC 8414 discovery: the authorization server's metadata, fetched from the well-known location of
 * its issuer identifier and accepted only when it names that same issuer (§3.3).
 */
import { wellKnownUrl } from '../shared/well-known.js';
import { AgentStsClientError } from './errors.js';

export interface AuthorizationServerMetadata {
  readonly issuer: string;
  readonly token_endpoint: string;
  readonly jwks_uri?: string;
  readonly introspection_endpoint?: string;
  readonly revocation_endpoint?: string;
  readonly token_endpoint_auth_methods_supported?: readonly string[];
  readonly dpop_signing_alg_values_supported?: readonly string[];
  readonly [name: string]: unknown;
}

export async function discover(
  issuer: string,
  fetchImpl: typeof fetch = fetch,
): Promise<AuthorizationServerMetadata> {
  const failed = (message: string, cause?: unknown) =>
    new AgentStsClientError('discovery_failed', `${issuer}: ${message}`, { cause });
  let response: Response;
  try {
    response = await fetchImpl(wellKnownUrl(issuer, 'oauth-authorization-server'), {
      headers: { accept: 'application/json' },
      redirect: 'error',
      signal: AbortSignal.timeout(10_000),
    });
  } catch (cause) {
    throw failed('metadata request failed', cause);
  }
  if (!response.ok) throw failed(`metadata answered ${response.status}`);
  const metadata = (await response.json().catch((cause: unknown) => {
    throw failed('metadata is not JSON', cause);
  })) as Partial<AuthorizationServerMetadata>;
  if (metadata.issuer !== issuer) throw failed('metadata names another issuer');
  if (typeof metadata.token_endpoint !== 'string') throw failed('metadata has no token_endpoint');
  return metadata as AuthorizationServerMetadata;
}
