/**
 * One POST to the token endpoint and its answer: an RFC 6749 §5.1 / RFC 8693 §2.2.1 token response
 * becomes a `TokenSet`, an RFC 6749 §5.2 error response an `OAuthError` with the server's words.
 */
import { AgentStsClientError, OAuthError } from './errors.js';

export interface TokenSet {
  readonly accessToken: string;
  /** `Bearer`, or `DPoP` when the token is bound to the agent's DPoP key. */
  readonly tokenType: string;
  /** RFC 8693 `issued_token_type`, for exchanges. */
  readonly issuedTokenType: string | undefined;
  readonly scopes: readonly string[];
  readonly expiresIn: number;
  readonly expiresAt: Date;
}

/** RFC 9449 §8: the nonce a server asks DPoP proofs to carry, sent with answers and refusals alike. */
export const DPOP_NONCE_HEADER = 'dpop-nonce';

export async function postTokenRequest(
  fetchImpl: typeof fetch,
  endpoint: string,
  form: Record<string, string>,
  headers: Record<string, string>,
  onDpopNonce: (nonce: string) => void = () => {},
): Promise<TokenSet> {
  let response: Response;
  try {
    response = await fetchImpl(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
        ...headers,
      },
      body: new URLSearchParams(form).toString(),
      redirect: 'error',
      signal: AbortSignal.timeout(15_000),
    });
  } catch (cause) {
    throw new AgentStsClientError('request_failed', 'the token request failed', { cause });
  }
  const nonce = response.headers.get(DPOP_NONCE_HEADER);
  if (nonce !== null && nonce !== '') onDpopNonce(nonce);
  const body = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  if (!response.ok) {
    if (typeof body?.error !== 'string') {
      throw new AgentStsClientError('invalid_response', `the token endpoint answered ${response.status}`);
    }
    const description = typeof body.error_description === 'string' ? body.error_description : undefined;
    throw new OAuthError(body.error, description, response.status);
  }
  const { access_token: accessToken, token_type: tokenType, expires_in: expiresIn, scope } = body ?? {};
  if (typeof accessToken !== 'string' || typeof tokenType !== 'string' || typeof expiresIn !== 'number') {
    throw new AgentStsClientError(
      'invalid_response',
      'the token response lacks access_token, token_type or expires_in',
    );
  }
  return {
    accessToken,
    tokenType,
    issuedTokenType: typeof body?.issued_token_type === 'string' ? body.issued_token_type : undefined,
    scopes: typeof scope === 'string' ? scope.split(' ').filter((value) => value !== '') : [],
    expiresIn,
    expiresAt: new Date(Date.now() + expiresIn * 1000),
  };
}
