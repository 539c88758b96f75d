/**
 * ADR 0023: where workload credentials come from. `/admin/spiffe-trust-domains` registers a SPIFFE
 * trust domain with its bundle (inline, or a SPIFFE bundle endpoint fetched with the WebPKI
 * profile); `/admin/kubernetes-clusters` a cluster's service-account token issuer with its keys.
 * Key sources are checked as every JWKS is (AD-06): public signature keys only, fetchable https
 * URLs only. Also here: the workload identity an agent registration binds (agents.ts).
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import {
  isNamespace,
  isServiceAccountName,
  isTrustDomainName,
  parseSpiffeId,
  parseWorkloadKey,
  workloadKey,
  workloadKindOf,
  type WorkloadKind,
} from '../../domain/workload-identity.js';
import type { WorkloadIssuer } from '../../infra/workload-trust-store.js';
import { WorkloadTrustStore } from '../../infra/workload-trust-store.js';
import { ProblemError } from '../problem.js';
import { changedBy, found, listPage, notFound, type AdminRouteOptions } from './common.js';
import {
  ClusterCreateBody,
  ClusterPatchBody,
  ClusterView,
  IdParams,
  ListQuery,
  Page,
  TrustDomainCreateBody,
  TrustDomainPatchBody,
  TrustDomainView,
  type AuthMethod,
  type JwkSet,
  type KubernetesServiceAccount,
  type SpiffeBundle,
} from './schemas.js';
import { checkFetchableUrl, checkIssuerUrl, checkJwks, type ValidationContext } from './validation.js';

function invalid(code: string, path: string, detail: string): ProblemError {
  return new ProblemError(400, code, detail, [{ path, message: detail }]);
}

/** SPIFFE bundle §4: the keys whose `use` is `jwt-svid` sign JWT-SVIDs; x509-svid keys are CAs. */
const JWT_SVID_USE = 'jwt-svid';

/**
 * The JWT-SVID keys of a SPIFFE bundle as a plain JWK Set (`use` dropped: jose only takes `sig`
 * or none), checked as any registered JWKS is. A bundle without one verifies no JWT-SVID.
 */
export async function jwtSvidKeys(bundle: SpiffeBundle, path: string): Promise<JwkSet> {
  const keys = bundle.keys
    .filter((key) => key.use === JWT_SVID_USE)
    .map(({ use: _use, ...key }) => key as JwkSet['keys'][number]);
  if (keys.length === 0) throw invalid('invalid_jwks', `${path}/keys`, 'the bundle holds no jwt-svid key');
  const jwks = { keys };
  await checkJwks(jwks, path);
  return jwks;
}

function keySource(
  jwks: JwkSet | undefined,
  jwksUri: string | undefined,
  names: { jwks: string; jwksUri: string },
): void {
  if ((jwks === undefined) === (jwksUri === undefined)) {
    throw invalid(
      'invalid_key_source',
      `/${names.jwks}`,
      `give ${names.jwks} or ${names.jwksUri}, exactly one`,
    );
  }
}

async function trustDomainKeys(body: TrustDomainPatchBody, context: ValidationContext) {
  keySource(body.bundle as JwkSet | undefined, body.bundleEndpointUrl, {
    jwks: 'bundle',
    jwksUri: 'bundleEndpointUrl',
  });
  if (body.bundleEndpointUrl !== undefined) {
    checkFetchableUrl(body.bundleEndpointUrl, context, '/bundleEndpointUrl');
    return { jwks: null, jwksUri: body.bundleEndpointUrl };
  }
  return { jwks: await jwtSvidKeys(body.bundle as SpiffeBundle, '/bundle'), jwksUri: null };
}

async function clusterKeys(body: ClusterPatchBody, context: ValidationContext) {
  keySource(body.jwks, body.jwksUri, { jwks: 'jwks', jwksUri: 'jwksUri' });
  if (body.jwksUri !== undefined) {
    checkFetchableUrl(body.jwksUri, context, '/jwksUri');
    return { jwks: null, jwksUri: body.jwksUri };
  }
  await checkJwks(body.jwks as JwkSet, '/jwks');
  return { jwks: body.jwks as JwkSet, jwksUri: null };
}

export function trustDomainView(row: WorkloadIssuer): TrustDomainView {
  return {
    id: row.id,
    trustDomain: row.name,
    bundle: row.jwks ?? null,
    bundleEndpointUrl: row.jwksUri,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export function clusterView(row: WorkloadIssuer): ClusterView {
  return {
    id: row.id,
    issuer: row.name,
    jwks: row.jwks ?? null,
    jwksUri: row.jwksUri,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

// ---- the workload identity of an agent ---------------------------------------------------------

export interface WorkloadIdentityInput {
  readonly spiffeId?: string | undefined;
  readonly kubernetesServiceAccount?: KubernetesServiceAccount | undefined;
}

/**
 * The workload identity key an agent registration binds: required for, and only for, the
 * workload methods, and of their kind. `current` is the stored key (PATCH keeps it unless a new
 * identity is given). Pure; the trust domain or cluster may be registered before or after.
 */
export function agentWorkloadIdentity(
  method: AuthMethod,
  given: WorkloadIdentityInput,
  current: string | null,
  context: ValidationContext,
): string | null {
  const kind = workloadKindOf(method);
  const { spiffeId, kubernetesServiceAccount: account } = given;
  if (kind !== 'spiffe' && spiffeId !== undefined) {
    throw invalid('invalid_value', '/spiffeId', 'spiffeId is only registered for jwt_spiffe');
  }
  if (kind !== 'kubernetes' && account !== undefined) {
    throw invalid(
      'invalid_value',
      '/kubernetesServiceAccount',
      'kubernetesServiceAccount is only registered for kubernetes_service_account',
    );
  }
  if (kind === null) return null;
  const kept = current !== null && parseWorkloadKey(current)?.kind === kind ? current : null;
  if (kind === 'spiffe') {
    if (spiffeId === undefined) {
      if (kept === null) throw invalid('invalid_value', '/spiffeId', 'spiffeId is required for jwt_spiffe');
      return kept;
    }
    if (!parseSpiffeId(spiffeId)) {
      throw invalid('invalid_value', '/spiffeId', 'must be a SPIFFE ID: spiffe://<trust domain>/<path>');
    }
    return spiffeId;
  }
  if (account === undefined) {
    if (kept === null) {
      throw invalid(
        'invalid_value',
        '/kubernetesServiceAccount',
        'kubernetesServiceAccount is required for kubernetes_service_account',
      );
    }
    return kept;
  }
  checkIssuerUrl(account.issuer, context, '/kubernetesServiceAccount/issuer');
  if (!isNamespace(account.namespace)) {
    throw invalid('invalid_value', '/kubernetesServiceAccount/namespace', 'not a Kubernetes namespace name');
  }
  if (!isServiceAccountName(account.name)) {
    throw invalid('invalid_value', '/kubernetesServiceAccount/name', 'not a Kubernetes service account name');
  }
  return workloadKey({
    kind: 'kubernetes',
    issuer: account.issuer,
    serviceAccount: { namespace: account.namespace, name: account.name },
  });
}

/** What an agent view shows of its workload identity. */
export function workloadIdentityView(key: string | null): {
  spiffeId: string | null;
  kubernetesServiceAccount: KubernetesServiceAccount | null;
} {
  const identity = key === null ? null : parseWorkloadKey(key);
  return {
    spiffeId: identity?.kind === 'spiffe' ? identity.spiffeId : null,
    kubernetesServiceAccount:
      identity?.kind === 'kubernetes' ? { issuer: identity.issuer, ...identity.serviceAccount } : null,
  };
}

// ---- routes -------------------------------------------------------------------------------------

/** One registry collection of workload trust: its path, names, schemas and key checks. */
interface Collection {
  readonly path: string;
  /** What a 404, an OpenAPI summary and a log line call one entry. */
  readonly noun: string;
  readonly idPrefix: string;
  readonly createBody: typeof TrustDomainCreateBody | typeof ClusterCreateBody;
  readonly patchBody: typeof TrustDomainPatchBody | typeof ClusterPatchBody;
  readonly view: typeof TrustDomainView | typeof ClusterView;
  readonly name: (body: never) => string;
  readonly checkName: (name: string) => void;
  readonly keys: (body: never) => Promise<{ jwks: JwkSet | null; jwksUri: string | null }>;
  readonly toView: (row: WorkloadIssuer) => unknown;
}

export async function workloadDomainRoutes(app: FastifyInstance, { store, context }: AdminRouteOptions) {
  const trust = new WorkloadTrustStore(app.sts.database.prisma, store);

  function routes(kind: WorkloadKind, collection: Collection) {
    const { path, noun, toView } = collection;
    app.post<{ Body: Record<string, unknown> & { id?: string } }>(
      path,
      {
        schema: {
          summary: `Register a ${noun}`,
          body: collection.createBody,
          response: { 201: collection.view },
        },
      },
      async (request, reply) => {
        const body = request.body;
        const name = collection.name(body as never);
        collection.checkName(name);
        const keys = await collection.keys(body as never);
        const row = await trust.create(
          { id: body.id ?? `${collection.idPrefix}-${randomUUID()}`, kind, name, ...keys },
          changedBy(request),
        );
        request.log.info({ workloadIssuer: row.id }, `admin registered a ${noun}`);
        return reply.code(201).send(toView(row));
      },
    );

    app.get<{ Querystring: ListQuery }>(
      path,
      {
        schema: {
          summary: `List ${noun}s`,
          querystring: ListQuery,
          response: { 200: Page(collection.view) },
        },
      },
      async (request) => listPage(request.query, (page) => trust.list(kind, page), toView),
    );

    app.get<{ Params: IdParams }>(
      `${path}/:id`,
      { schema: { summary: `Read a ${noun}`, params: IdParams, response: { 200: collection.view } } },
      async (request) => toView(found(await trust.get(kind, request.params.id), noun, request.params.id)),
    );

    app.patch<{ Params: IdParams; Body: Record<string, unknown> }>(
      `${path}/:id`,
      {
        schema: {
          summary: `Replace the keys of a ${noun}`,
          params: IdParams,
          body: collection.patchBody,
          response: { 200: collection.view },
        },
      },
      async (request) => {
        const keys = await collection.keys(request.body as never);
        const row = await trust.updateKeys(kind, request.params.id, keys, changedBy(request));
        request.log.info({ workloadIssuer: request.params.id }, `admin changed a ${noun}`);
        return toView(found(row, noun, request.params.id));
      },
    );

    app.delete<{ Params: IdParams }>(
      `${path}/:id`,
      { schema: { summary: `Delete a ${noun}`, params: IdParams } },
      async (request, reply) => {
        if (!(await trust.delete(kind, request.params.id, changedBy(request)))) {
          throw notFound(noun, request.params.id);
        }
        request.log.info({ workloadIssuer: request.params.id }, `admin deleted a ${noun}`);
        return reply.code(204).send();
      },
    );
  }

  routes('spiffe', {
    path: '/spiffe-trust-domains',
    noun: 'SPIFFE trust domain',
    idPrefix: 'td',
    createBody: TrustDomainCreateBody,
    patchBody: TrustDomainPatchBody,
    view: TrustDomainView,
    name: (body: TrustDomainCreateBody) => body.trustDomain,
    checkName: (name) => {
      if (!isTrustDomainName(name)) {
        throw invalid(
          'invalid_value',
          '/trustDomain',
          'not a trust domain name (lower-case letters, digits, . - _)',
        );
      }
    },
    keys: (body: TrustDomainPatchBody) => trustDomainKeys(body, context),
    toView: trustDomainView,
  });

  routes('kubernetes', {
    path: '/kubernetes-clusters',
    noun: 'Kubernetes cluster',
    idPrefix: 'k8s',
    createBody: ClusterCreateBody,
    patchBody: ClusterPatchBody,
    view: ClusterView,
    name: (body: ClusterCreateBody) => body.issuer,
    checkName: (name) => checkIssuerUrl(name, context),
    keys: (body: ClusterPatchBody) => clusterKeys(body, context),
    toView: clusterView,
  });
}
