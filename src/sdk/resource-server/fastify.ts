/**
 * The fastify adapter: a plugin whose `onRequest` hook verifies the token of every request of the
 * scope it is registered in (it is not encapsulated, like a `fastify-plugin` plugin) and puts the
 * result on `request.agentToken`; a refused request gets the RFC 6750 / RFC 9449 answer. Register
 * it in a child scope with other options for routes with other scopes or chain policies.
 *
 * The DPoP `htu` is checked against `publicUrl` when given, else against fastify's
 * `request.protocol` and `request.host`, which honour fastify's own `trustProxy` setting.
 */
import type { FastifyPluginAsync } from 'fastify';
import { createRequestAuthenticator, type AgentStsAuthOptions } from './authenticate-request.js';
import { requestUrl } from './request-url.js';
import type { AgentToken } from './verify-agent-token.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the agent-sts plugin once the request's token is verified. */
    agentToken?: AgentToken;
  }
}

const plugin: FastifyPluginAsync<AgentStsAuthOptions> = async (fastify, options) => {
  const authenticate = createRequestAuthenticator(options);
  if (!fastify.hasRequestDecorator('agentToken')) fastify.decorateRequest('agentToken', undefined);
  fastify.addHook('onRequest', async (request, reply) => {
    const url = requestUrl(
      { protocol: request.protocol, host: request.host, path: request.url },
      options.publicUrl,
    );
    const result = await authenticate({ method: request.method, url, headers: request.headers });
    if (result.ok) {
      request.agentToken = result.token;
      return;
    }
    await reply.code(result.refusal.status).headers(result.refusal.headers).send(result.refusal.body);
    return reply;
  });
};

// Not encapsulated (what fastify-plugin does): the hook applies to the scope that registers it.
Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'agent-sts',
});

export const agentStsFastify: FastifyPluginAsync<AgentStsAuthOptions> = plugin;
