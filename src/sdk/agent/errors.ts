/**
 * What went wrong in a call to agent-sts, as data. `code` is stable (switch on it); an OAuth
 * refusal is an `OAuthError` carrying the server's own `error` and `error_description`
 * (RFC 6749 §5.2, RFC 8693 §2.2.2), so an agent can tell `invalid_scope` from `invalid_target`.
 */
export type AgentStsClientErrorCode =
  /** The issuer's RFC 8414 metadata could not be fetched or is not for this issuer. */
  | 'discovery_failed'
  /** The HTTP request failed (network, timeout). */
  | 'request_failed'
  /** The server answered something that is not an RFC 6749 token or error response. */
  | 'invalid_response'
  /** The server refused the request: see `OAuthError.error`. */
  | 'oauth_error'
  /** The workload credential (JWT-SVID, service-account token) could not be read or is no JWT. */
  | 'workload_credential_unavailable';

export class AgentStsClientError extends Error {
  override readonly name: string = 'AgentStsClientError';
  readonly code: AgentStsClientErrorCode;

  constructor(code: AgentStsClientErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

export class OAuthError extends AgentStsClientError {
  override readonly name = 'OAuthError';
  declare readonly code: 'oauth_error';
  /** The server's `error`: invalid_request, invalid_client, invalid_grant, invalid_scope, ... */
  readonly error: string;
  /** The server's `error_description`. */
  readonly errorDescription: string | undefined;
  /** The HTTP status of the refusal. */
  readonly status: number;

  constructor(error: string, errorDescription: string | undefined, status: number) {
    super('oauth_error', errorDescription ? `${error}: ${errorDescription}` : error);
    this.error = error;
    this.errorDescription = errorDescription;
    this.status = status;
  }
}
