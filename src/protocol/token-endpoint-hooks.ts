/**
 * Koa middleware around every provider request. For the token endpoint it adds `Pragma:
 * no-cache` (RFC 6749 §5.1), `Retry-After` on 429/503, and writes the audit event for refusals
 * that happen before a grant handler runs (client authentication, unsupported grant, malformed
 * parameters), so every decision has its audit row.
 */
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { RuleCode } from '../domain/types.js';
import type { LineageStore } from '../infra/lineage-store.js';
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

/**
 * The client a refused request claimed to be, for the audit log: the Basic user name (RFC 6749
 * §2.3.1, form-urlencoded), else `client_id` in the body. Never proof of identity.
 */
function claimedClient(authorization: string, params: Record<string, unknown>): string | null {
  const basic = /^basic\s+([A-Za-z0-9+/=]+)$/i.exec(authorization);
  if (basic?.[1]) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const separator = decoded.indexOf(':');
    if (separator > 0) {
      try {
        return decodeURIComponent(decoded.slice(0, separator).replace(/\+/g, ' ')).slice(0, 200);
      } catch {
        return null;
      }
    }
  }
  return typeof params.client_id === 'string' ? params.client_id.slice(0, 200) : null;
}

export function tokenEndpointHooks(lineage: LineageStore, log: Logger) {
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
    const params = (ctx.oidc?.params ?? {}) as Record<string, unknown>;
    const claimedClientId = claimedClient(ctx.get('authorization'), params);
    try {
      await lineage.recordRefusal({
        decision: 'denied',
        rule: ruleFor(body.error, ctx.status),
        grantType: typeof params.grant_type === 'string' ? params.grant_type : null,
        clientId: ctx.oidc?.client?.clientId ?? claimedClientId,
        description: body.error_description ?? body.error ?? null,
      });
    } catch (error) {
      log.error({ err: error }, 'could not write the audit event of a refused token request');
    }
  };
}

/** Sets `Retry-After` from a rate-limit refusal; called from the provider's `grant.error` event. */
export function onGrantError(ctx: KoaContextWithOIDC, error: unknown): void {
  if (error instanceof RateLimited) ctx.set('Retry-After', String(error.retryAfterSeconds));
}
