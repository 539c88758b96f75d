/**
 * Koa middleware, outermost around every provider request: for the token endpoint it records
 * the request count, latency and — for token exchange — the decision and its rule. The rule is
 * the one the audit log holds: the grant's own record when the grant ran (`AUDITED`), else the
 * one token-endpoint-hooks.ts derives for early refusals (client authentication, parameters).
 */
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { AuditRecord } from '../infra/lineage-store.js';
import { grantTypeLabel, type ServiceMetrics } from '../infra/metrics.js';
import { AUDITED } from './grants.js';
import { TOKEN_PATH } from './provider.js';
import { ruleFor } from './token-endpoint-hooks.js';

function decisionOf(ctx: KoaContextWithOIDC): { decision: 'granted' | 'denied'; rule: string } {
  const audited = (ctx as unknown as Record<symbol, AuditRecord | undefined>)[AUDITED];
  if (audited) return { decision: audited.decision, rule: audited.rule };
  if (ctx.status < 400) return { decision: 'granted', rule: 'granted' };
  const body = (ctx.body ?? {}) as { error?: unknown };
  return { decision: 'denied', rule: ruleFor(body.error, ctx.status) };
}

export function tokenEndpointMetrics(metrics: ServiceMetrics) {
  return async function tokenEndpointMetric(
    ctx: KoaContextWithOIDC,
    next: () => Promise<void>,
  ): Promise<void> {
    if (ctx.path !== TOKEN_PATH) return next();
    const started = process.hrtime.bigint();
    let failed = false;
    try {
      await next();
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const params = (ctx.oidc?.params ?? {}) as Record<string, unknown>;
      const status = failed ? 500 : ctx.status;
      metrics.recordTokenRequest(
        grantTypeLabel(params.grant_type),
        status,
        seconds,
        failed ? { decision: 'denied', rule: 'unavailable' } : decisionOf(ctx),
      );
    }
  };
}
