/**
 * The Txn-Token branch of the token-exchange grant (ADR 0024): `requested_token_type` =
 * `urn:ietf:params:oauth:token-type:txn_token`. The same flow as every grant (DESIGN.md): parse →
 * verify the input tokens → decide (pure domain) → record → sign → answer; only the subject token
 * (a Txn-Token to replace is verified as one) and the token signed differ.
 */
import type { TokenRequest } from './token-request.js';
import { chainParticipants } from '../domain/chain-liveness.js';
import { refuse } from '../domain/refusal.js';
import {
  evaluateTxnTokenRequest,
  type TransactionContext,
  type TxnTokenDecision,
} from '../domain/txn-token.js';
import type { IssueDecision, Refusal, Result, VerifiedToken } from '../domain/types.js';
import type { LineageStore } from '../infra/lineage-store.js';
import type { Registry } from '../infra/registry.js';
import type { KeySet } from '../infra/signing-keys.js';
import { TOKEN_TYPE_NOT_APPLICABLE, TOKEN_TYPE_TXN_TOKEN } from './constants.js';
import type { ParsedExchange } from './exchange-request.js';
import type { RequestContext } from './grants.js';
import { newToken, tokenDigest, type IssuedToken } from './mint.js';
import type { InputTokenVerifier, VerifiedTxnToken } from './input-token.js';
import { parseTxnTokenRequest, signTxnToken } from './txn-token.js';

/** What configuration says of Txn-Tokens. */
export interface TxnTokenSettings {
  /** The Trust Domain: the `aud` of every Txn-Token. */
  readonly trustDomain: string;
  readonly lifetimeSeconds: number;
}

/** The steps of the token-exchange grant this branch shares (grants.ts). */
export interface GrantSteps {
  recordGrant(
    ctx: TokenRequest,
    request: RequestContext,
    decision: IssueDecision,
    issued: IssuedToken,
  ): Promise<void>;
  refuseRequest(ctx: TokenRequest, request: RequestContext, refusal: Refusal): Promise<never>;
  lookup<T>(read: () => Promise<T>): Promise<T>;
  actorTokenOf(
    ctx: TokenRequest,
    request: RequestContext,
    exchange: ParsedExchange,
    now: number,
  ): Promise<VerifiedToken | null>;
  addressedAgents(subject: VerifiedToken, actorId: string): Promise<string[]>;
}

export interface TxnTokenGrantDeps {
  readonly issuer: string;
  readonly serviceMaxDepth: number;
  readonly settings: TxnTokenSettings | null;
  readonly registry: Registry;
  readonly lineage: LineageStore;
  readonly verifier: InputTokenVerifier;
  readonly keys: () => KeySet;
  readonly steps: GrantSteps;
}

export function createTxnTokenGrant(deps: TxnTokenGrantDeps) {
  const { steps } = deps;

  /** The subject token: a Txn-Token to replace, or any token the exchange accepts as a subject. */
  async function verifySubject(
    settings: TxnTokenSettings,
    exchange: ParsedExchange,
    now: number,
  ): Promise<Result<VerifiedTxnToken | { readonly token: VerifiedToken; readonly context: null }>> {
    if (exchange.subjectTokenType === TOKEN_TYPE_TXN_TOKEN) {
      return deps.verifier.verifyTxnToken(exchange.subjectToken, settings.trustDomain, now);
    }
    const subject = await deps.verifier.verify(
      'subject_token',
      exchange.subjectToken,
      exchange.subjectTokenType,
      now,
    );
    return subject.ok ? { ok: true, value: { token: subject.value, context: null } } : subject;
  }

  async function issue(
    ctx: TokenRequest,
    request: RequestContext,
    decision: TxnTokenDecision,
  ): Promise<void> {
    const issued = newToken(decision);
    const { jti, txn, scope } = issued;
    // Sign first: if signing failed after the commit, lineage would name a token nobody holds.
    const txnToken = await signTxnToken(deps.keys().active, {
      iss: deps.issuer,
      iat: decision.iat,
      exp: decision.exp,
      aud: decision.aud,
      txn,
      sub: decision.sub,
      scope,
      req_wl: decision.requester,
      act: decision.act,
      ...(decision.rctx !== null ? { rctx: decision.rctx } : {}),
      ...(decision.tctx !== null ? { tctx: decision.tctx } : {}),
      jti,
    });
    await steps.recordGrant(
      ctx,
      request,
      // Lineage sees the requester as this hop's client; a Txn-Token travels unmodified down the
      // call chain, so it is never bound to one key (ADR 0024).
      { ...decision, clientId: decision.requester, jkt: null, impersonation: false },
      {
        ...issued,
        digest: tokenDigest(txnToken),
        description: decision.replacement ? 'replacement Txn-Token issued' : 'Txn-Token issued',
      },
    );
    // Txn-Tokens draft, "Txn-Token Response"; RFC 8693 §2.2.1. No refresh token.
    ctx.body = {
      access_token: txnToken,
      issued_token_type: TOKEN_TYPE_TXN_TOKEN,
      token_type: TOKEN_TYPE_NOT_APPLICABLE,
      expires_in: decision.exp - decision.iat,
      scope,
    };
  }

  return async function txnTokenExchange(
    ctx: TokenRequest,
    request: RequestContext,
    exchange: ParsedExchange,
    now: number,
  ): Promise<void> {
    const { settings } = deps;
    // RFC 8693 §2.2.2: a token type this deployment does not issue.
    if (settings === null) {
      return steps.refuseRequest(
        ctx,
        request,
        refuse(
          'unsupported_requested_token_type',
          'invalid_request',
          'requested_token_type unsupported: Txn-Tokens are not enabled',
        ),
      );
    }
    const parsed = parseTxnTokenRequest(request.params, exchange);
    if (!parsed.ok) return steps.refuseRequest(ctx, request, parsed);

    const subject = await steps.lookup(() => verifySubject(settings, exchange, now));
    if (!subject.ok) return steps.refuseRequest(ctx, request, subject);
    request.subject = subject.value.token;
    const actorToken = await steps.actorTokenOf(ctx, request, exchange, now);

    const replaced: TransactionContext | null = subject.value.context;
    const [chainAgents, subjectAudienceAgents] = await steps.lookup(() =>
      Promise.all([
        deps.registry.getAgents(chainParticipants(subject.value.token)),
        replaced === null
          ? steps.addressedAgents(subject.value.token, request.agent.id)
          : Promise.resolve([]),
      ]),
    );
    const decision = evaluateTxnTokenRequest({
      request: parsed.value,
      trustDomain: settings.trustDomain,
      lifetimeSeconds: settings.lifetimeSeconds,
      actorAgent: request.agent,
      subject: subject.value.token,
      replaced,
      actorToken,
      chainAgents,
      subjectAudienceAgents,
      serviceMaxDepth: deps.serviceMaxDepth,
      proofJkt: request.proofJkt,
      now,
    });
    if (!decision.ok) return steps.refuseRequest(ctx, request, decision);
    await issue(ctx, request, decision.value);
  };
}
