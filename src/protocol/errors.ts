/**
 * Token-endpoint errors beyond RFC 6749 §5.2, rendered by oidc-provider's error handler as
 * `{"error", "error_description"}` with their own status.
 */
import { errors } from 'oidc-provider';

/** A failure of a dependency (database, Redis): answer 503 and issue nothing (AV-01). */
export class ServiceUnavailable extends errors.OIDCProviderError {
  constructor() {
    super(503, 'temporarily_unavailable');
    Object.assign(this, {
      error_description: 'the service is temporarily unavailable, retry later',
      expose: true,
    });
  }
}

export class RateLimited extends errors.OIDCProviderError {
  readonly retryAfterSeconds: number;

  constructor(retryAfterSeconds: number) {
    super(429, 'rate_limit_exceeded');
    this.retryAfterSeconds = retryAfterSeconds;
    Object.assign(this, {
      error_description: 'too many token requests for this client, retry later',
      expose: true,
    });
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
