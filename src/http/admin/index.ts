/**
 * The admin API (CONTRACT §4), registered under `/admin`. In this scope: every request is
 * authenticated before its body is read; bodies are validated strictly (validator.ts) and every
 * failure is an RFC 9457 problem document; no answer is cached, since some carry a client secret.
 */
import type { FastifyInstance } from 'fastify';
import { RegistryAdminStore, RegistryConflict } from '../../infra/admin-store.js';
import { agentRoutes } from './agents.js';
import { auditRoutes } from './audit.js';
import { createAdminAuthenticator, type AdminPrincipal } from './auth.js';
import { chainRoutes } from './chains.js';
import { conflictProblem, type AdminRouteOptions } from './common.js';
import { adminEventRoutes } from './events.js';
import { keyRoutes } from './keys.js';
import { peerDomainRoutes } from './peer-domains.js';
import { resourceRoutes } from './resources.js';
import { revocationRoutes } from './revocations.js';
import { setReceiverRoutes } from './set-receivers.js';
import { trustedIssuerRoutes } from './trusted-issuers.js';
import { typeBoxValidatorCompiler } from './validator.js';
import { workloadDomainRoutes } from './workload-domains.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller of an admin route. */
    admin?: AdminPrincipal;
  }
}

export async function adminRoutes(app: FastifyInstance): Promise<void> {
  const { config, database, registry, ownTokens, lineage, changes } = app.sts;
  const authenticate = createAdminAuthenticator({
    adminToken: config.adminToken,
    issuer: config.issuer,
    ownTokens,
    lineage,
  });
  const options: AdminRouteOptions = {
    store: new RegistryAdminStore(database.prisma, {
      publish: (tx) => changes.publish(tx, 'registry'),
      onCommit: () => registry.invalidate(),
    }),
    context: {
      issuer: config.issuer,
      maxDelegationDepth: config.maxDelegationDepth,
      allowLoopbackHttpJwks: config.allowLoopbackHttpJwks,
    },
  };

  app.setValidatorCompiler(typeBoxValidatorCompiler);
  // JSON only: fastify's default text/plain parser would let a string reach the schema as a body.
  app.removeContentTypeParser('text/plain');
  // An error handler that throws hands the error to the app's handler (problem.ts).
  app.setErrorHandler((error) => {
    throw error instanceof RegistryConflict ? conflictProblem(error) : error;
  });
  app.decorateRequest('admin', undefined);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('Cache-Control', 'no-store');
    request.admin = await authenticate(request.headers.authorization);
  });

  await app.register(agentRoutes, options);
  await app.register(resourceRoutes, options);
  await app.register(trustedIssuerRoutes, options);
  await app.register(workloadDomainRoutes, options);
  await app.register(peerDomainRoutes, options);
  await app.register(revocationRoutes);
  await app.register(auditRoutes);
  await app.register(adminEventRoutes);
  await app.register(chainRoutes);
  await app.register(keyRoutes);
  await app.register(setReceiverRoutes, options);
}
