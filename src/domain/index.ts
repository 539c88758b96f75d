/** The pure domain core: the policy of agent-sts, with no I/O, clock or randomness of its own. */
export type {
  ActClaim,
  AgentPolicy,
  AgentStatus,
  AudienceEntry,
  ClientCredentialsInput,
  ExchangeInput,
  ExchangeRequest,
  GrantType,
  IssueDecision,
  OAuthErrorCode,
  Refusal,
  Result,
  RuleCode,
  TokenBinding,
  TokenOrigin,
  VerifiedToken,
} from './types.js';
export { GRANT_CLIENT_CREDENTIALS, GRANT_TOKEN_EXCHANGE } from './types.js';

export { accept, refuse, RULE_ERRORS } from './refusal.js';
export {
  AUDIT_DESCRIPTION_MAX_CHARS,
  AUDIT_FIELD_MAX_CHARS,
  auditField,
  hasControlCharacter,
  nulCharacterPath,
  parameterWithControlCharacter,
} from './audit-field.js';
export { formatScopes, MAX_SCOPE_TOKENS, parseScopeParameter } from './scopes.js';
export { buildActClaim, flattenActClaim } from './act-chain.js';
export {
  AGENT_ID_PATTERN,
  isAgentId,
  isIssuerIdentifier,
  isResourceId,
  MAX_URL_LENGTH,
  RESOURCE_ID_PATTERN,
} from './identifiers.js';

export { checkClientEnabled } from './client-enabled.js';
export { checkGrantAllowed } from './grant-allowed.js';
export { checkSubjectAudience } from './subject-audience.js';
export {
  allAgentsEnabled,
  chainParticipants,
  checkChainLiveness,
  type ChainMembers,
} from './chain-liveness.js';
export { checkActorToken } from './actor-token.js';
export { checkMayAct } from './may-act.js';
export { checkImpersonationAllowed } from './impersonation.js';
export { checkDelegationCycle } from './delegation-cycle.js';
export { checkProofRequired, checkTokenHolder } from './dpop-binding.js';
export {
  checkDelegationDepth,
  depthAfterHop,
  inheritedDepthLimit,
  type DelegationDepthInput,
} from './delegation-depth.js';
export { checkTargetAllowed, resolveTarget } from './target.js';
export {
  standingPrivilege,
  standingSubjectScopes,
  type ClaimedPrivilege,
  type Obtainer,
  type StandingPrivilege,
} from './standing-privilege.js';
export { attenuateScopes, type ScopeAttenuationInput } from './attenuation.js';
export { tokenLifetime, type Lifetime, type LifetimeInput } from './lifetime.js';

export { evaluateExchange } from './exchange.js';
export { evaluateClientCredentials } from './client-credentials.js';
export {
  checkTxnTokenRequest,
  evaluateTxnTokenRequest,
  extendContext,
  sameJson,
  transactionContext,
  type JsonObject,
  type JsonValue,
  type TransactionContext,
  type TxnTokenDecision,
  type TxnTokenInput,
  type TxnTokenRequest,
} from './txn-token.js';
