#!/usr/bin/env node
// The README's API that checks a chain: the calendar API of the walk-through, on fastify.
//   STS=http://127.0.0.1:3000 node scripts/example-calendar-api.mjs   (needs `npm run build` first)
import Fastify from 'fastify';
import {
  agentStsFastify,
  protectedResourceMetadata,
  protectedResourceMetadataUrl,
} from 'agent-sts/resource-server';

const STS = process.env.STS ?? 'http://127.0.0.1:3000';
const API = 'https://calendar.example/api'; // its id in agent-sts: the `aud` of its tokens

const app = Fastify();
// RFC 9728: tells clients (MCP clients too) that agent-sts issues this API's tokens.
app.get('/.well-known/oauth-protected-resource/api', async () =>
  protectedResourceMetadata({
    resource: API,
    authorizationServers: [STS],
    scopesSupported: ['calendar.read'],
  }),
);
await app.register(async (api) => {
  await api.register(agentStsFastify, {
    issuer: STS,
    audience: API,
    requiredScopes: ['calendar.read'],
    chain: { maxDepth: 2, allowedActors: ['agent-a', 'agent-b'] },
    publicUrl: API, // the URL clients address, for DPoP proofs (a proxy maps it to this server)
    resourceMetadata: protectedResourceMetadataUrl(API),
  });
  api.get('/events', async ({ agentToken }) => ({
    for: agentToken.subject,
    via: agentToken.actors.map((actor) => actor.subject),
    txn: agentToken.txn,
  }));
});
await app.listen({ port: Number(process.env.PORT ?? 4000) });
