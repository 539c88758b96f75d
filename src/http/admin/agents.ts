/**
 * /admin/agents (CONTRACT §4): register, list, read, change, disable, enable, rotate the secret,
 * delete. A client secret is generated here, returned in the one answer that creates it and
 * stored only as a digest (ADR 0002, AD-09). Deleting keeps a tombstone so that the id can never
 * be registered again and old chains never rebind to a new agent (AD-10).
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Agent, AgentData, AgentUpdateAction, Change } from '../../infra/admin-store.js';
import { generateClientSecret, hashClientSecret } from '../../infra/client-secrets.js';
import { ProblemError } from '../problem.js';
import { changedBy, found, listPage, type AdminRouteOptions } from './common.js';
import type { ValidationContext } from './validation.js';
import {
  AGENT_DEFAULTS,
  AgentCreateBody,
  AgentListQuery,
  AgentPatchBody,
  AgentView,
  AgentWithSecretView,
  IdParams,
  Page,
  type AuthMethod,
  type JwkSet,
} from './schemas.js';
import { agentView } from './views.js';
import { checkAgent, checkNotReserved, usesSecret } from './validation.js';
import { agentWorkloadIdentity } from './workload-domains.js';

/** A new secret for secret-authenticated agents: the plaintext to show once, the digest to store. */
function newSecret(method: AuthMethod): { secret: string | null; secretHash: string | null } {
  if (!usesSecret(method)) return { secret: null, secretHash: null };
  const secret = generateClientSecret();
  return { secret, secretHash: hashClientSecret(secret) };
}

function withSecret(row: Agent, secret: string | null) {
  return secret === null ? agentView(row) : { ...agentView(row), clientSecret: secret };
}

/**
 * PATCH semantics: given fields replace stored ones. `jwks` or `jwksUri` replaces the key source as
 * a whole; a switch to a secret method drops stored keys; the result is validated as one object.
 */
function mergeAgent(current: Agent, patch: AgentPatchBody, context: ValidationContext) {
  const method = patch.tokenEndpointAuthMethod ?? (current.tokenEndpointAuthMethod as AuthMethod);
  const newKeySource = patch.jwks !== undefined || patch.jwksUri !== undefined;
  const keepKeys = !newKeySource && !usesSecret(method);
  return {
    name: patch.name ?? current.name,
    description: patch.description ?? current.description,
    owner: patch.owner ?? current.owner,
    tokenEndpointAuthMethod: method,
    jwks: newKeySource ? (patch.jwks ?? null) : keepKeys ? (current.jwks as JwkSet | null) : null,
    jwksUri: newKeySource ? (patch.jwksUri ?? null) : keepKeys ? current.jwksUri : null,
    allowedScopes: patch.allowedScopes ?? current.allowedScopes,
    allowedAudiences: patch.allowedAudiences ?? current.allowedAudiences,
    grantTypes: patch.grantTypes ?? current.grantTypes,
    maxDelegationDepth: patch.maxDelegationDepth ?? current.maxDelegationDepth,
    tokenTtlSeconds: patch.tokenTtlSeconds ?? current.tokenTtlSeconds,
    mayImpersonate: patch.mayImpersonate ?? current.mayImpersonate,
    dpopBoundAccessTokens: patch.dpopBoundAccessTokens ?? current.dpopBoundAccessTokens,
    workloadIdentity: agentWorkloadIdentity(method, patch, current.workloadIdentity, context),
  };
}

export async function agentRoutes(app: FastifyInstance, { store, context }: AdminRouteOptions) {
  /**
   * Applies `change` to a live agent, recorded as `action` of the caller, and answers with the
   * agent (and a new secret, if one was issued).
   */
  async function changeAgent(
    request: FastifyRequest<{ Params: IdParams }>,
    action: AgentUpdateAction,
    change: (current: Agent) => Promise<{ data: Change<AgentData>; secret?: string | null }>,
  ) {
    const { id } = request.params;
    let secret: string | null = null;
    const row = await store.updateAgent(
      id,
      action,
      async (current) => {
        const result = await change(current);
        secret = result.secret ?? null;
        return result.data;
      },
      changedBy(request),
    );
    return withSecret(found(row, 'agent', id), secret);
  }

  app.post<{ Body: AgentCreateBody }>(
    '/agents',
    {
      schema: {
        summary: 'Register an agent',
        description: 'For the secret methods the answer holds clientSecret, shown this once.',
        body: AgentCreateBody,
        response: { 201: AgentWithSecretView },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const id = body.id ?? `agent-${randomUUID()}`;
      checkNotReserved(id, context);
      const { spiffeId, kubernetesServiceAccount, ...fields } = body;
      const settings = {
        ...AGENT_DEFAULTS,
        ...fields,
        jwks: body.jwks ?? null,
        jwksUri: body.jwksUri ?? null,
      };
      const workloadIdentity = agentWorkloadIdentity(
        settings.tokenEndpointAuthMethod,
        { spiffeId, kubernetesServiceAccount },
        null,
        context,
      );
      await checkAgent(settings, context);
      const { secret, secretHash } = newSecret(settings.tokenEndpointAuthMethod);
      const row = await store.createAgent(
        { ...settings, id, status: 'enabled', secretHash, deletedAt: null, workloadIdentity },
        changedBy(request),
      );
      request.log.info({ agent: id }, 'admin registered an agent');
      return reply.code(201).send(withSecret(row, secret));
    },
  );

  app.get<{ Querystring: AgentListQuery }>(
    '/agents',
    { schema: { summary: 'List agents', querystring: AgentListQuery, response: { 200: Page(AgentView) } } },
    async (request) =>
      listPage(
        request.query,
        (page) => store.listAgents(page, request.query.includeDeleted ?? false),
        agentView,
      ),
  );

  app.get<{ Params: IdParams }>(
    '/agents/:id',
    { schema: { summary: 'Read an agent', params: IdParams, response: { 200: AgentView } } },
    async (request) => {
      const row = await store.getAgent(request.params.id);
      return agentView(found(row?.status === 'deleted' ? null : row, 'agent', request.params.id));
    },
  );

  app.patch<{ Params: IdParams; Body: AgentPatchBody }>(
    '/agents/:id',
    {
      schema: {
        summary: 'Change an agent',
        params: IdParams,
        body: AgentPatchBody,
        response: { 200: AgentWithSecretView },
      },
    },
    async (request) => {
      const answer = await changeAgent(request, 'agent.updated', async (current) => {
        const merged = mergeAgent(current, request.body, context);
        await checkAgent(merged, context);
        const wasSecret = usesSecret(current.tokenEndpointAuthMethod as AuthMethod);
        const isSecret = usesSecret(merged.tokenEndpointAuthMethod);
        // A secret is issued when an agent moves to a secret method; kept while it stays on one.
        if (isSecret && wasSecret) return { data: merged };
        const { secret, secretHash } = newSecret(merged.tokenEndpointAuthMethod);
        return { data: { ...merged, secretHash }, secret };
      });
      request.log.info({ agent: request.params.id }, 'admin changed an agent');
      return answer;
    },
  );

  for (const [action, status] of [
    ['disable', 'disabled'],
    ['enable', 'enabled'],
  ] as const) {
    app.post<{ Params: IdParams }>(
      `/agents/:id/${action}`,
      {
        schema: {
          summary: `${action === 'disable' ? 'Disable' : 'Enable'} an agent`,
          params: IdParams,
          response: { 200: AgentView },
        },
      },
      async (request) => {
        const answer = await changeAgent(request, `agent.${status}`, async () => ({ data: { status } }));
        request.log.info({ agent: request.params.id }, `admin ${status} an agent`);
        return answer;
      },
    );
  }

  app.post<{ Params: IdParams }>(
    '/agents/:id/secret',
    {
      schema: {
        summary: "Rotate an agent's client secret",
        description: 'Returns the new secret once; the old one stops working at once.',
        params: IdParams,
        response: { 200: AgentWithSecretView },
      },
    },
    async (request) => {
      const answer = await changeAgent(request, 'agent.secret_rotated', async (current) => {
        if (!usesSecret(current.tokenEndpointAuthMethod as AuthMethod)) {
          throw new ProblemError(
            400,
            'secret_not_applicable',
            `this agent authenticates with ${current.tokenEndpointAuthMethod} and has no client secret`,
          );
        }
        const { secret, secretHash } = newSecret(current.tokenEndpointAuthMethod as AuthMethod);
        return { data: { secretHash }, secret };
      });
      request.log.info({ agent: request.params.id }, 'admin rotated a client secret');
      return answer;
    },
  );

  app.delete<{ Params: IdParams }>(
    '/agents/:id',
    { schema: { summary: 'Delete an agent (its id stays reserved)', params: IdParams } },
    async (request, reply) => {
      await changeAgent(request, 'agent.deleted', async () => ({
        // The workload identity is freed (ADR 0023): the id stays reserved, the workload may be
        // bound to a new agent; the admin event keeps what it was.
        data: { status: 'deleted', deletedAt: new Date(), secretHash: null, workloadIdentity: null },
      }));
      request.log.info({ agent: request.params.id }, 'admin deleted an agent');
      return reply.code(204).send();
    },
  );
}
