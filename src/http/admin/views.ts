/**
 * What the admin API shows of registry rows. Each view lists its members explicitly, so a column
 * added later (or `secretHash`) never reaches a response by accident (AD-09).
 */
import type { Agent, Resource, TrustedIssuer } from '../../infra/admin-store.js';
import type { AgentStatus } from '../../domain/types.js';
import type { AuditEvent } from '../../infra/audit-store.js';
import type { AdminEvent } from '../../infra/admin-events.js';
import type { SigningKeyInfo } from '../../infra/signing-keys.js';
import type {
  AdminEventView,
  AgentView,
  AuditEventView,
  ResourceView,
  SigningKeyView,
  TrustedIssuerView,
} from './schemas.js';
import { workloadIdentityView } from './workload-domains.js';

export function agentView(row: Agent): AgentView {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    owner: row.owner,
    status: row.status as AgentStatus,
    tokenEndpointAuthMethod: row.tokenEndpointAuthMethod,
    jwks: row.jwks ?? null,
    jwksUri: row.jwksUri,
    allowedScopes: row.allowedScopes,
    allowedAudiences: row.allowedAudiences,
    grantTypes: row.grantTypes,
    maxDelegationDepth: row.maxDelegationDepth,
    tokenTtlSeconds: row.tokenTtlSeconds,
    mayImpersonate: row.mayImpersonate,
    dpopBoundAccessTokens: row.dpopBoundAccessTokens,
    ...workloadIdentityView(row.workloadIdentity),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    deletedAt: row.deletedAt?.toISOString() ?? null,
  };
}

export function resourceView(row: Resource): ResourceView {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export function trustedIssuerView(row: TrustedIssuer): TrustedIssuerView {
  return {
    id: row.id,
    issuer: row.issuer,
    jwks: row.jwks ?? null,
    jwksUri: row.jwksUri,
    audiences: row.audiences,
    scopeClaim: row.scopeClaim,
    maxDelegationDepth: row.maxDelegationDepth,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export function signingKeyView(key: SigningKeyInfo): SigningKeyView {
  return {
    kid: key.kid,
    alg: key.alg,
    state: key.state,
    published: key.published,
    createdAt: key.createdAt.toISOString(),
    activatesAt: key.activatesAt?.toISOString() ?? null,
    activatedAt: key.activatedAt?.toISOString() ?? null,
    retiredAt: key.retiredAt?.toISOString() ?? null,
    revokedAt: key.revokedAt?.toISOString() ?? null,
    publicJwk: key.publicJwk as SigningKeyView['publicJwk'],
  };
}

export function auditEventView(row: AuditEvent): AuditEventView {
  return {
    id: row.id.toString(),
    at: row.at.toISOString(),
    decision: row.decision === 'granted' ? 'granted' : 'denied',
    rule: row.rule,
    grantType: row.grantType,
    clientId: row.clientId,
    subject: row.subject,
    audience: row.audience,
    requestedScope: row.requestedScope,
    grantedScope: row.grantedScope,
    jti: row.jti,
    parentJti: row.parentJti,
    txn: row.txn,
    impersonation: row.impersonation,
    description: row.description,
  };
}

export function adminEventView(row: AdminEvent): AdminEventView {
  return {
    id: row.id.toString(),
    at: row.at.toISOString(),
    actorKind: row.actorKind === 'access_token' ? 'access_token' : 'admin_token',
    actor: row.actor,
    actorJti: row.actorJti,
    action: row.action,
    targetType: row.targetType,
    targetId: row.targetId,
    changes: row.changes as AdminEventView['changes'],
    requestId: row.requestId,
  };
}
