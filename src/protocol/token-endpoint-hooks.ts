/**
 * Koa middleware around every provider request. For the token endpoint it adds `Pragma:
 * no-cache` (RFC 6749 §5.1), `Retry-After` on 429/503, and writes the audit event for refusals
 * that happen before a grant handler runs (client authentication, unsupported grant, malformed
 * parameters), so every decision has its audit row. A failed client authentication answers the
 * same to every caller; its row names the precise reason (client-auth-failure.ts).
 */
import type { KoaContextWithOIDC } from 'oidc-provider';
import { hasControlCharacter } from '../domain/audit-field.js';
import type { AgentStatus, RuleCode } from '../domain/types.js';
import type { LineageStore } from '../infra/lineage-store.js';
import {
  claimedClientId,
  CLIENT_AUTHENTICATION_FAILED,
  CLIENT_NOT_FOUND,
  clientAuthFailureDescription,
  standingDetail,
} from './client-auth-failure.js';
import { RateLimited } from './errors.js';
import { AUDITED } from './grants.js';
import { TOKEN_PATH } from './provider.js';

interface Logger {
  error(object: object, message: string): void;
}

/** The audit rule of a refusal that happened before a grant handler ran (also the metrics label). */
export function ruleFor(error: unknown, status: number): RuleCode {
  if (error === 'invalid_client') return 'client_authentication_failed';
  if (error === 'unauthorized_client') return 'grant_type_not_allowed';
  if (status >= 500) return 'unavailable';
  return 'invalid_parameters';
}

/** Parameters by which a client identifies or authenticates itself in the body (RFC 6749 §2.3, RFC 7521 §4.2). */
const CLIENT_AUTH_PARAMETERS = ['client_id', 'client_secret', 'client_assertion', 'client_assertion_type'];

/**
 * RFC 6749 §5.2: a request that includes no client authentication at all fails with
 * `invalid_client` (401), as any other failed authentication does (CA-01). oidc-provider answers
 * it with `invalid_request`; the request carried no credential of any kind, so nothing else
 * could have been wrong with the client's authentication.
 */
function isMissingClientAuthentication(ctx: KoaContextWithOIDC, body: { error?: string }): boolean {
  const params = ctx.oidc?.params as Record<string, unknown> | undefined;
  return (
    ctx.status === 400 &&
    body.error === 'invalid_request' &&
    params !== undefined &&
    !ctx.oidc.client &&
    ctx.get('authorization') === '' &&
    CLIENT_AUTH_PARAMETERS.every((name) => params[name] === undefined)
  );
}

/** The error oidc-provider refused the request with, kept by `onGrantError` for the audit row. */
const REFUSAL_ERROR = Symbol('agent-sts.refusal-error');

/** A refusal answered before the provider parsed the request (workload-token-endpoint.ts). */
interface EarlyRefusal {
  readonly detail: string | null;
  /** The form as it was sent, for the claimed client and grant type. */
  readonly params: Readonly<Record<string, unknown>>;
}

const EARLY_REFUSAL = Symbol('agent-sts.early-refusal');

/** Keeps what the audit row of a refusal needs when the provider never saw the request. */
export function noteEarlyRefusal(ctx: KoaContextWithOIDC, refusal: EarlyRefusal): void {
  (ctx as unknown as Record<symbol, unknown>)[EARLY_REFUSAL] = refusal;
  if (refusal.detail !== null) {
    (ctx as unknown as Record<symbol, unknown>)[REFUSAL_ERROR] = { error_detail: refusal.detail };
  }
}

/** Where the hook reads an agent's standing, to tell an unknown client from a disabled or deleted one. */
interface AgentStanding {
  getAgent(id: string): Promise<{ readonly status: AgentStatus } | null>;
}

/**
 * The precise reason a client authentication failed, for the audit row only: oidc-provider's own
 * `error_detail` (its public description is always "client authentication failed"), and for a
 * client it did not find, whether the id is unknown, disabled, deleted or malformed.
 */
async function clientFailureDetail(
  ctx: KoaContextWithOIDC,
  body: { error_description?: string },
  claimed: string | null,
  agents: AgentStanding,
): Promise<string> {
  const error = (ctx as unknown as Record<symbol, { error_detail?: unknown } | undefined>)[REFUSAL_ERROR];
  const detail =
    typeof error?.error_detail === 'string'
      ? error.error_detail
      : (body.error_description ?? CLIENT_AUTHENTICATION_FAILED);
  if (detail !== CLIENT_NOT_FOUND || claimed === null) return detail;
  if (hasControlCharacter(claimed)) return 'client_id contains a control character';
  try {
    return standingDetail((await agents.getAgent(claimed))?.status ?? null);
  } catch {
    return detail;
  }
}

export function tokenEndpointHooks(lineage: LineageStore, agents: AgentStanding, log: Logger) {
  return async function tokenEndpointHook(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
    if (ctx.path !== TOKEN_PATH) return next();
    ctx.set('Pragma', 'no-cache');
    await next();
    if (ctx.status === 503) ctx.set('Retry-After', '5');
    if (ctx.status < 400 || (ctx as unknown as Record<symbol, unknown>)[AUDITED]) return;
    let body = (ctx.body ?? {}) as { error?: string; error_description?: string };
    if (isMissingClientAuthentication(ctx, body)) {
      ctx.status = 401;
      body = { error: 'invalid_client', error_description: 'no client authentication was provided' };
      ctx.body = body;
    }
    const early = (ctx as unknown as Record<symbol, EarlyRefusal | undefined>)[EARLY_REFUSAL];
    const params = (ctx.oidc?.params ?? early?.params ?? {}) as Record<string, unknown>;
    const claimed = ctx.oidc?.client?.clientId ?? claimedClientId(ctx.get('authorization'), params);
    try {
      await lineage.recordRefusal({
        decision: 'denied',
        rule: ruleFor(body.error, ctx.status),
        grantType: typeof params.grant_type === 'string' ? params.grant_type : null,
        clientId: claimed,
        description:
          body.error === 'invalid_client'
            ? clientAuthFailureDescription(await clientFailureDetail(ctx, body, claimed, agents))
            : (body.error_description ?? body.error ?? null),
      });
    } catch (error) {
      log.error({ err: error }, 'could not write the audit event of a refused token request');
    }
  };
}

/**
 * Called from the provider's `grant.error` event: keeps the error for the audit row (its
 * `error_detail` says why, where the public description does not) and sets `Retry-After` from a
 * rate-limit refusal.
 */
export function onGrantError(ctx: KoaContextWithOIDC, error: unknown): void {
  (ctx as unknown as Record<symbol, unknown>)[REFUSAL_ERROR] = error;
  if (error instanceof RateLimited) ctx.set('Retry-After', String(error.retryAfterSeconds));
}
