/**
 * The errors of the OAuth endpoints (token, introspection, revocation), answered as
 * `{"error", "error_description"}` with their status (RFC 6749 §5.2).
 */

/** A refusal with its RFC error code and public, one-line description. */
export class OAuthError extends Error {
  readonly status: number;
  readonly error: string;

  constructor(status: number, error: string, description: string) {
    super(description);
    this.name = 'OAuthError';
    this.status = status;
    this.error = error;
  }
}

/** A failure of a dependency (database, Redis): answer 503 and issue nothing (AV-01). */
export class ServiceUnavailable extends OAuthError {
  constructor() {
    super(503, 'temporarily_unavailable', 'the service is temporarily unavailable, retry later');
  }
}

export class RateLimited extends OAuthError {
  readonly retryAfterSeconds: number;

  constructor(retryAfterSeconds: number) {
    super(429, 'rate_limit_exceeded', 'too many token requests for this client, retry later');
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** A storage failure during client authentication answers 503, never 500 or a skipped check (AV-02). */
export async function failClosed<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch {
    throw new ServiceUnavailable();
  }
}
