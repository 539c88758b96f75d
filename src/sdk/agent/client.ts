/**
 * `AgentStsClient`: an agent's side of agent-sts. It discovers the server once, authenticates as
 * the agent on every token request, binds tokens to its DPoP key when it has one, caches what it
 * gets, and builds the headers that present a token to the next hop. When the server asks for
 * DPoP nonces (RFC 9449 §8) it puts the last one it was given into each proof, and answers
 * `use_dpop_nonce` by trying once more with the nonce that came with the refusal (§8.2).
 */
import { clientAuthenticationParts, type ClientAuthentication } from './client-authentication.js';
import { discover, type AuthorizationServerMetadata } from './discover.js';
import { createDpopProof, type DpopKeyPair } from './dpop-proof.js';
import { cacheKey, createTokenCache, type TokenCacheOptions } from './token-cache.js';
import { OAuthError } from './errors.js';
import { postTokenRequest, type TokenSet } from './token-request.js';

export const GRANT_TYPE_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const TOKEN_TYPE_ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
export const TOKEN_TYPE_JWT = 'urn:ietf:params:oauth:token-type:jwt';
/** RFC 7523 §2.1: redeeming a JWT authorization grant. */
export const GRANT_TYPE_JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** draft-ietf-oauth-transaction-tokens: a Transaction Token (Txn-Token). */
export const TOKEN_TYPE_TXN_TOKEN = 'urn:ietf:params:oauth:token-type:txn_token';

export interface AgentStsClientOptions {
  /** The agent-sts issuer identifier (`ISSUER`). */
  readonly issuer: string;
  /** This agent's id. */
  readonly clientId: string;
  readonly authentication: ClientAuthentication;
  /** Bind issued tokens to this key (RFC 9449); the agent then presents them with proofs. */
  readonly dpopKey?: DpopKeyPair;
  /** Token caching; false to ask the server every time. */
  readonly cache?: TokenCacheOptions | false;
  /** Default: the global fetch. */
  readonly fetch?: typeof fetch;
}

/** Where the token is for: an RFC 8693 `audience` (an agent id, a logical name) or an RFC 8707 `resource` URI. */
export interface TokenTarget {
  readonly audience?: string;
  readonly resource?: string;
  /** Space-separated or a list; omitted: every scope that remains. */
  readonly scope?: string | readonly string[];
}

export interface ExchangeParameters extends TokenTarget {
  readonly subjectToken: string;
  /** Default urn:ietf:params:oauth:token-type:access_token. */
  readonly subjectTokenType?: string;
  readonly actorToken?: string;
  /** Default urn:ietf:params:oauth:token-type:access_token when an actor token is given. */
  readonly actorTokenType?: string;
  readonly requestedTokenType?: string;
}

/** draft-ietf-oauth-identity-chaining §2.3: a grant for another domain's authorization server. */
export interface AuthorizationGrantParameters {
  readonly subjectToken: string;
  /** Default urn:ietf:params:oauth:token-type:access_token. */
  readonly subjectTokenType?: string;
  /** The issuer identifier of the other domain's authorization server. */
  readonly authorizationServer: string;
  readonly scope?: string | readonly string[];
}

/** RFC 7523 §2.1 at the other domain's authorization server: the grant, and the one target. */
export interface GrantRedemptionParameters extends TokenTarget {
  /** The JWT authorization grant obtained with `authorizationGrant` in the home domain. */
  readonly assertion: string;
}

/** A Txn-Token request ("Txn-Token Request" of draft-ietf-oauth-transaction-tokens). */
export interface TransactionTokenParameters {
  /** The Trust Domain agent-sts issues Txn-Tokens for (its `TXN_TOKEN_TRUST_DOMAIN`). */
  readonly trustDomain: string;
  /** The purpose of the transaction: required, never wider than the subject token's scope. */
  readonly scope: string | readonly string[];
  /** The token this agent received (addressed to it), or a Txn-Token to replace. */
  readonly subjectToken: string;
  /** Default access_token; TOKEN_TYPE_TXN_TOKEN asks for a replacement of a Txn-Token. */
  readonly subjectTokenType?: string;
  /** `request_context`: the environment of the request (becomes `rctx`). */
  readonly requestContext?: Readonly<Record<string, unknown>>;
  /** `request_details`: the details of the transaction (become `tctx`, immutable downstream). */
  readonly requestDetails?: Readonly<Record<string, unknown>>;
}

function scopeOf(scope: TokenTarget['scope']): string | undefined {
  if (scope === undefined) return undefined;
  const scopes = typeof scope === 'string' ? scope.split(' ') : [...scope];
  return scopes
    .filter((value) => value !== '')
    .sort()
    .join(' ');
}

function definedFields(fields: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(fields).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

export class AgentStsClient {
  readonly #options: AgentStsClientOptions;
  readonly #fetch: typeof fetch;
  readonly #cached: ReturnType<typeof createTokenCache> | undefined;
  #metadata: Promise<AuthorizationServerMetadata> | undefined;
  /** The last `DPoP-Nonce` the token endpoint sent (RFC 9449 §8.1); one server, so one nonce. */
  #dpopNonce: string | undefined;

  constructor(options: AgentStsClientOptions) {
    this.#options = options;
    this.#fetch = options.fetch ?? fetch;
    this.#cached = options.cache === false ? undefined : createTokenCache(options.cache);
  }

  /** The server's RFC 8414 metadata, fetched once (again after a failure). */
  metadata(): Promise<AuthorizationServerMetadata> {
    this.#metadata ??= discover(this.#options.issuer, this.#fetch).catch((error: unknown) => {
      this.#metadata = undefined;
      throw error;
    });
    return this.#metadata;
  }

  /** RFC 6749 §4.4: a token for this agent itself. */
  clientCredentials(target: TokenTarget = {}): Promise<TokenSet> {
    const fields = definedFields({
      grant_type: 'client_credentials',
      audience: target.audience,
      resource: target.resource,
      scope: scopeOf(target.scope),
    });
    return this.#issue(fields);
  }

  /** RFC 8693: a token for the next hop, derived from the token this agent received. */
  async exchange(parameters: ExchangeParameters): Promise<TokenSet> {
    if (parameters.audience === undefined && parameters.resource === undefined) {
      throw new TypeError('exchange needs an audience or a resource');
    }
    const fields = definedFields({
      grant_type: GRANT_TYPE_TOKEN_EXCHANGE,
      subject_token: parameters.subjectToken,
      subject_token_type: parameters.subjectTokenType ?? TOKEN_TYPE_ACCESS_TOKEN,
      actor_token: parameters.actorToken,
      actor_token_type:
        parameters.actorToken === undefined
          ? undefined
          : (parameters.actorTokenType ?? TOKEN_TYPE_ACCESS_TOKEN),
      audience: parameters.audience,
      resource: parameters.resource,
      scope: scopeOf(parameters.scope),
      requested_token_type: parameters.requestedTokenType,
    });
    return this.#issue(fields);
  }

  /**
   * draft-ietf-oauth-identity-chaining §2.3: exchanges the token this agent received for a JWT
   * authorization grant for another trust domain's authorization server. Never cached: a grant is
   * spent where it is redeemed.
   */
  authorizationGrant(parameters: AuthorizationGrantParameters): Promise<TokenSet> {
    return this.#request(
      definedFields({
        grant_type: GRANT_TYPE_TOKEN_EXCHANGE,
        subject_token: parameters.subjectToken,
        subject_token_type: parameters.subjectTokenType ?? TOKEN_TYPE_ACCESS_TOKEN,
        resource: parameters.authorizationServer,
        requested_token_type: TOKEN_TYPE_JWT,
        scope: scopeOf(parameters.scope),
      }),
    );
  }

  /**
   * RFC 7523 §2.1, draft-ietf-oauth-identity-chaining §2.4: redeems a JWT authorization grant of
   * another trust domain at this client's authorization server (`issuer`) for an access token.
   */
  redeemAuthorizationGrant(parameters: GrantRedemptionParameters): Promise<TokenSet> {
    if (parameters.audience === undefined && parameters.resource === undefined) {
      throw new TypeError('redeemAuthorizationGrant needs an audience or a resource');
    }
    return this.#request(
      definedFields({
        grant_type: GRANT_TYPE_JWT_BEARER,
        assertion: parameters.assertion,
        audience: parameters.audience,
        resource: parameters.resource,
        scope: scopeOf(parameters.scope),
      }),
    );
  }

  /**
   * A Txn-Token for the Trust Domain (ADR 0024), never cached: each transaction gets its own. It
   * is sent to the next workload as it is, in the `Txn-Token` header, not as an access token.
   */
  transactionToken(parameters: TransactionTokenParameters): Promise<TokenSet> {
    const scope = scopeOf(parameters.scope);
    if (!scope) throw new TypeError('a Txn-Token needs a scope');
    const json = (value: Readonly<Record<string, unknown>> | undefined) =>
      value === undefined ? undefined : JSON.stringify(value);
    return this.#request(
      definedFields({
        grant_type: GRANT_TYPE_TOKEN_EXCHANGE,
        requested_token_type: TOKEN_TYPE_TXN_TOKEN,
        audience: parameters.trustDomain,
        scope,
        subject_token: parameters.subjectToken,
        subject_token_type: parameters.subjectTokenType ?? TOKEN_TYPE_ACCESS_TOKEN,
        request_context: json(parameters.requestContext),
        request_details: json(parameters.requestDetails),
      }),
    );
  }

  /**
   * The headers that present `token` on a request to `url`: `Authorization: Bearer`, or for a
   * DPoP-bound token `Authorization: DPoP` with a fresh proof for this method and URL (RFC 9449 §7.1).
   */
  async authorizationHeaders(
    token: TokenSet,
    request: { readonly method: string; readonly url: string | URL },
  ): Promise<Record<string, string>> {
    if (token.tokenType.toLowerCase() !== 'dpop') return { authorization: `Bearer ${token.accessToken}` };
    if (!this.#options.dpopKey) throw new TypeError('a DPoP-bound token needs the client dpopKey');
    const proof = await createDpopProof(this.#options.dpopKey, {
      ...request,
      accessToken: token.accessToken,
    });
    return { authorization: `DPoP ${token.accessToken}`, dpop: proof };
  }

  async #issue(fields: Record<string, string>): Promise<TokenSet> {
    const request = () => this.#request(fields);
    if (!this.#cached) return request();
    const keyFields = Object.entries(fields).sort(([a], [b]) => a.localeCompare(b));
    return this.#cached(cacheKey(keyFields.flat()), request);
  }

  async #request(fields: Record<string, string>): Promise<TokenSet> {
    const nonce = this.#dpopNonce;
    try {
      return await this.#send(fields, nonce);
    } catch (error) {
      // RFC 9449 §8.2: retry once, with a new proof (and a new client assertion), when the
      // refusal brought a nonce other than the one just tried.
      const fresh = this.#dpopNonce;
      const retry =
        this.#options.dpopKey !== undefined &&
        error instanceof OAuthError &&
        error.error === 'use_dpop_nonce' &&
        fresh !== undefined &&
        fresh !== nonce;
      if (!retry) throw error;
      return this.#send(fields, fresh);
    }
  }

  async #send(fields: Record<string, string>, nonce: string | undefined): Promise<TokenSet> {
    const { issuer, clientId, authentication, dpopKey } = this.#options;
    const metadata = await this.metadata();
    const parts = await clientAuthenticationParts(clientId, issuer, authentication);
    const headers = { ...parts.headers };
    if (dpopKey) {
      headers.dpop = await createDpopProof(dpopKey, { method: 'POST', url: metadata.token_endpoint, nonce });
    }
    const form = { ...fields, ...parts.fields };
    return postTokenRequest(this.#fetch, metadata.token_endpoint, form, headers, (next) => {
      this.#dpopNonce = next;
    });
  }
}
