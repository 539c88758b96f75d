/**
 * `agent-sts/resource-server`: verify agent-sts access tokens in an API or MCP server. Depends on
 * jose alone; nothing of the agent-sts server is imported.
 */
export { verifyAgentToken } from './verify-agent-token.js';
export type {
  AgentToken,
  DpopOptions,
  PresentedRequest,
  VerifyAgentTokenOptions,
} from './verify-agent-token.js';
export { verifyTransactionToken, TXN_TOKEN_HEADER } from './verify-transaction-token.js';
export type { TransactionToken, VerifyTransactionTokenOptions } from './verify-transaction-token.js';
export { createAgentStsKeySet } from './key-set.js';
export type { AgentStsKeySetOptions } from './key-set.js';
export type { ChainPolicy } from './check-chain.js';
export type { Actor } from './read-chain.js';
export { readCredentials } from './read-credentials.js';
export type { AuthorizationScheme, HeaderValue, PresentedCredentials } from './read-credentials.js';
export { verifyDpopProof, DEFAULT_DPOP_ALGORITHMS } from './verify-dpop-proof.js';
export type { DpopRequest, VerifyDpopProofOptions } from './verify-dpop-proof.js';
export { normaliseHtu, htuMatches } from './htu.js';
export { createMemoryReplayStore } from './replay-store.js';
export type { MemoryReplayStoreOptions, ReplayStore } from './replay-store.js';
export { AgentTokenError, isAgentTokenError } from './errors.js';
export type { AgentTokenErrorCode, ChallengeError } from './errors.js';
export { wwwAuthenticate } from './www-authenticate.js';
export type { ChallengeOptions } from './www-authenticate.js';
export { protectedResourceMetadata, protectedResourceMetadataUrl } from './protected-resource-metadata.js';
export type { ProtectedResourceMetadataOptions } from './protected-resource-metadata.js';
export { createRequestAuthenticator } from './authenticate-request.js';
export type {
  AgentStsAuthOptions,
  Authentication,
  IncomingRequest,
  Refusal,
} from './authenticate-request.js';
export { createRevocationList } from './revocation-list.js';
export type {
  RevocableToken,
  RevocationCheck,
  RevocationEntries,
  RevocationList,
  RevocationListOptions,
} from './revocation-list.js';
export {
  createRevocationReceiver,
  SetReceiveError,
  SECEVENT_CONTENT_TYPE,
  TOKENS_REVOKED_EVENT,
} from './revocation-receiver.js';
export type {
  PushAnswer,
  PushRequest,
  ReceivedRevocation,
  RevocationReceiver,
  RevocationReceiverOptions,
  SetErrorCode,
} from './revocation-receiver.js';
export { createRevocationPoller } from './revocation-poller.js';
export type { PollResult, RevocationPoller, RevocationPollerOptions } from './revocation-poller.js';
export { agentStsFastify } from './fastify.js';
export { agentStsMiddleware } from './connect.js';
export type { AgentStsConnectOptions, ConnectRequest, ConnectResponse } from './connect.js';
