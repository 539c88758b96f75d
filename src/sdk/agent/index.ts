/**
 * `agent-sts/agent`: an agent's client of agent-sts (tokens for itself, token exchange for the
 * next hop, JWT authorization grants across trust domains, DPoP). Depends on jose alone; nothing of the agent-sts server is imported.
 */
export {
  AgentStsClient,
  GRANT_TYPE_JWT_BEARER,
  GRANT_TYPE_TOKEN_EXCHANGE,
  TOKEN_TYPE_ACCESS_TOKEN,
  TOKEN_TYPE_JWT,
  TOKEN_TYPE_TXN_TOKEN,
} from './client.js';
export type {
  AgentStsClientOptions,
  AuthorizationGrantParameters,
  ExchangeParameters,
  GrantRedemptionParameters,
  TokenTarget,
  TransactionTokenParameters,
} from './client.js';
export type { ClientAuthentication } from './client-authentication.js';
export { createClientAssertion, CLIENT_ASSERTION_TYPE, CLIENT_ASSERTION_TYP } from './client-assertion.js';
export type { ClientAssertionOptions } from './client-assertion.js';
export { JWT_SPIFFE_ASSERTION_TYPE, readWorkloadCredential } from './workload-credential.js';
export type { WorkloadCredentialSource, WorkloadMethod } from './workload-credential.js';
export { createDpopProof } from './dpop-proof.js';
export type { DpopKeyPair, DpopProofRequest } from './dpop-proof.js';
export { discover } from './discover.js';
export type { AuthorizationServerMetadata } from './discover.js';
export type { TokenSet } from './token-request.js';
export type { TokenCacheOptions } from './token-cache.js';
export { AgentStsClientError, OAuthError } from './errors.js';
export type { AgentStsClientErrorCode } from './errors.js';
