/**
 * RFC 9728 protected-resource metadata: the document an API or MCP server serves at
 * `/.well-known/oauth-protected-resource` (§3) so that clients learn which authorization server
 * (agent-sts) issues its tokens, and the URL its `WWW-Authenticate` challenges point at (§5.1).
 */
import { wellKnownUrl } from '../shared/well-known.js';

export interface ProtectedResourceMetadataOptions {
  /** The resource identifier (§2 `resource`): the `aud` agent-sts puts in its tokens, an https URL. */
  readonly resource: string;
  /** Issuer identifiers of the authorization servers (agent-sts). */
  readonly authorizationServers: readonly string[];
  readonly scopesSupported?: readonly string[];
  readonly resourceName?: string;
  readonly resourceDocumentation?: string;
  /** RFC 9449 proof algorithms accepted; omit when DPoP is not accepted. */
  readonly dpopSigningAlgValuesSupported?: readonly string[];
  /** Only DPoP-bound tokens are accepted. */
  readonly dpopBoundAccessTokensRequired?: boolean;
}

/** The §2 document, ready to serve as JSON. */
export function protectedResourceMetadata(
  options: ProtectedResourceMetadataOptions,
): Record<string, unknown> {
  const document: Record<string, unknown> = {
    resource: options.resource,
    authorization_servers: [...options.authorizationServers],
    // Only the Authorization header is read (RFC 6750 §2.1).
    bearer_methods_supported: ['header'],
  };
  if (options.scopesSupported) document.scopes_supported = [...options.scopesSupported];
  if (options.resourceName !== undefined) document.resource_name = options.resourceName;
  if (options.resourceDocumentation !== undefined)
    document.resource_documentation = options.resourceDocumentation;
  if (options.dpopSigningAlgValuesSupported) {
    document.dpop_signing_alg_values_supported = [...options.dpopSigningAlgValuesSupported];
  }
  if (options.dpopBoundAccessTokensRequired !== undefined) {
    document.dpop_bound_access_tokens_required = options.dpopBoundAccessTokensRequired;
  }
  return document;
}

/** §3.1: where the document of `resource` is served (the well-known path goes before any path). */
export function protectedResourceMetadataUrl(resource: string | URL): URL {
  return wellKnownUrl(resource, 'oauth-protected-resource');
}
