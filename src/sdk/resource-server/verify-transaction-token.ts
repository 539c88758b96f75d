/**
 * `verifyTransactionToken`: what a workload of a Trust Domain checks of a Txn-Token it received in
 * the `Txn-Token` header (draft-ietf-oauth-transaction-tokens, "Txn-Token Validation"; ADR 0024):
 *
 * 1. signature by a key of the agent-sts JWKS, with an expected asymmetric `alg`;
 * 2. header `typ` txntoken+jwt, so an access token never passes as a Txn-Token (nor the reverse:
 *    `verifyAgentToken` requires at+jwt);
 * 3. `aud` exactly the Trust Domain, `iss` the agent-sts issuer, `exp`/`iat` within a bounded skew;
 * 4. the claims agent-sts always sets are there and well-formed (`sub`, `txn`, `req_wl`, `scope`,
 *    `act`, and `rctx`/`tctx` when present);
 * 5. the required scopes (the purposes this workload serves).
 *
 * A Txn-Token is forwarded unmodified to the next workload; it is never an access token.
 */
import { jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { AgentTokenError } from './errors.js';
import { readChain, type Actor } from './read-chain.js';
import { checkScopes, joseFailure } from './verify-agent-token.js';

/** The HTTP header a Txn-Token travels in between workloads ("Txn-Token" HTTP Header). */
export const TXN_TOKEN_HEADER = 'txn-token';

/** What a Txn-Token says, once verified. */
export interface TransactionToken {
  /** `sub`: the principal of the transaction. */
  readonly subject: string;
  /** `txn`: the transaction (the agent-sts chain id). */
  readonly txn: string;
  /** `aud`: the Trust Domain. */
  readonly trustDomain: string;
  /** `scope`, split: the purpose of the transaction. */
  readonly scopes: readonly string[];
  /** `req_wl`: the workload (agent) that requested this Txn-Token. */
  readonly requestingWorkload: string;
  /** The `act` chain of requesting workloads, newest first. */
  readonly actors: readonly Actor[];
  /** `rctx`: the environment of the request that started the transaction. */
  readonly requestContext: Readonly<Record<string, unknown>> | undefined;
  /** `tctx`: the details of the transaction, immutable along the call chain. */
  readonly transactionContext: Readonly<Record<string, unknown>> | undefined;
  readonly issuer: string;
  readonly jti: string;
  readonly issuedAt: Date;
  readonly expiresAt: Date;
  /** Every claim, for anything not read above. */
  readonly claims: JWTPayload;
}

export interface VerifyTransactionTokenOptions {
  /** The agent-sts issuer identifier; `iss` must equal it exactly. */
  readonly issuer: string;
  /** The Trust Domain (`TXN_TOKEN_TRUST_DOMAIN` of agent-sts): the one `aud` accepted. */
  readonly trustDomain: string;
  /** The issuer's keys: `createAgentStsKeySet({ issuer })`, created once and reused. */
  readonly keys: JWTVerifyGetKey;
  /** Accepted signing algorithms. Default ES256. */
  readonly algorithms?: readonly string[];
  /** Clock skew allowed on `exp` and `iat`, in seconds. Default 5, at most 300. */
  readonly clockTolerance?: number;
  /** Scopes the transaction must carry, all of them. */
  readonly requiredScopes?: readonly string[];
}

const MAX_CLOCK_TOLERANCE = 300;
const TXN_TOKEN_TYP = 'txntoken+jwt';

function claimsInvalid(message: string): never {
  throw new AgentTokenError('token_claims_invalid', message);
}

function context(value: unknown, name: string): Readonly<Record<string, unknown>> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    claimsInvalid(`${name} is not an object`);
  return value as Readonly<Record<string, unknown>>;
}

function readTxnToken(payload: JWTPayload): TransactionToken {
  const audiences = typeof payload.aud === 'string' ? [payload.aud] : (payload.aud ?? []);
  if (audiences.length !== 1)
    throw new AgentTokenError('token_audience_invalid', 'the token has more than one audience');
  const { txn, scope, req_wl: requestingWorkload } = payload;
  if (typeof txn !== 'string' || txn === '') claimsInvalid('the token has no txn');
  if (typeof scope !== 'string') claimsInvalid('the token has no scope');
  if (typeof requestingWorkload !== 'string' || requestingWorkload === '')
    claimsInvalid('the token has no req_wl');
  return {
    subject: payload.sub!,
    txn,
    trustDomain: audiences[0]!,
    scopes: scope.split(' ').filter((value) => value !== ''),
    requestingWorkload,
    actors: readChain(payload.act),
    requestContext: context(payload.rctx, 'rctx'),
    transactionContext: context(payload.tctx, 'tctx'),
    issuer: payload.iss!,
    jti: payload.jti!,
    issuedAt: new Date(payload.iat! * 1000),
    expiresAt: new Date(payload.exp! * 1000),
    claims: payload,
  };
}

/** Verifies a Txn-Token of agent-sts for this Trust Domain; throws AgentTokenError when refused. */
export async function verifyTransactionToken(
  token: string,
  options: VerifyTransactionTokenOptions,
): Promise<TransactionToken> {
  const clockTolerance = options.clockTolerance ?? 5;
  if (!(clockTolerance >= 0 && clockTolerance <= MAX_CLOCK_TOLERANCE)) {
    throw new TypeError(`clockTolerance must be between 0 and ${MAX_CLOCK_TOLERANCE} seconds`);
  }
  if (typeof options.trustDomain !== 'string' || options.trustDomain === '') {
    throw new TypeError('trustDomain must be one non-empty string');
  }
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, options.keys, {
      issuer: options.issuer,
      audience: options.trustDomain,
      typ: TXN_TOKEN_TYP,
      algorithms: [...(options.algorithms ?? ['ES256'])],
      clockTolerance,
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'txn'],
    }));
  } catch (cause) {
    throw joseFailure(cause, 'a txntoken+jwt Transaction Token');
  }
  const txnToken = readTxnToken(payload);
  checkScopes(txnToken, options.requiredScopes ?? []);
  return txnToken;
}
