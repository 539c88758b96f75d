/**
 * POST /admin/revocations (CONTRACT §4): revoke by `jti` (the token and its subtree), by `txn`
 * (the whole chain) or by `agent` (every live token it acted in or that is addressed to it, and
 * what was derived from them). Each revocation runs in one transaction and writes one audit row per revoked token
 * (rule `token_revoked`) and one admin event (`tokens.revoked`). A revoked token is never active
 * again at introspection and can never be exchanged again (CONTRACT §3.4).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RevokedToken, Revoker } from '../../infra/lineage-store.js';
import { changedBy, notFound } from './common.js';
import { RevocationBody, RevocationView } from './schemas.js';

function revoker(
  request: FastifyRequest,
  target: { targetType: 'token' | 'chain' | 'agent'; targetId: string },
  what: string,
): Revoker {
  const admin = { ...changedBy(request), ...target };
  const { actor } = admin;
  if (actor.kind === 'access_token') {
    return { clientId: actor.agent, description: `revoked by an admin (${actor.agent}): ${what}`, admin };
  }
  return { clientId: null, description: `revoked by an admin (admin token): ${what}`, admin };
}

function view(tokens: readonly RevokedToken[]): RevocationView {
  return { revoked: tokens.length, jtis: tokens.map((token) => token.jti) };
}

export async function revocationRoutes(app: FastifyInstance) {
  const { lineage, registry, config, setDelivery } = app.sts;

  app.post<{ Body: RevocationBody }>(
    '/revocations',
    {
      schema: {
        summary: 'Revoke tokens',
        description:
          'Revokes one token and every token derived from it ({"jti"}), every token of a chain ({"txn"}), or every live token an agent holds and their descendants ({"agent"}): the tokens it acted in (its act chain or client_id names it) and the tokens addressed to it (aud = the agent), which it could otherwise still exchange. Exactly one member. Already revoked and expired tokens are not counted.',
        body: RevocationBody,
        response: { 200: RevocationView },
      },
    },
    async (request) => {
      const body = request.body;
      let revoked: RevokedToken[];
      if ('jti' in body) {
        if ((await lineage.standing(body.jti)) === null) throw notFound('token', body.jti);
        revoked = await lineage.revokeTree(
          [body.jti],
          revoker(
            request,
            { targetType: 'token', targetId: body.jti },
            `token ${body.jti} and its descendants`,
          ),
        );
      } else if ('txn' in body) {
        if (!(await lineage.hasChain(body.txn))) throw notFound('chain', body.txn);
        revoked = await lineage.revokeByTxn(
          body.txn,
          revoker(request, { targetType: 'chain', targetId: body.txn }, `every token of chain ${body.txn}`),
        );
      } else {
        if ((await registry.getAgent(body.agent)) === null) throw notFound('agent', body.agent);
        // A token inside the clock tolerance after its exp can still be presented: it counts as live.
        const liveAfter = new Date(Date.now() - config.clockToleranceSeconds * 1000);
        revoked = await lineage.revokeByAgent(
          body.agent,
          liveAfter,
          revoker(
            request,
            { targetType: 'agent', targetId: body.agent },
            `every live token agent ${body.agent} acted in or is addressed to`,
          ),
        );
      }
      request.log.info({ revoked: revoked.length }, 'admin revoked tokens');
      // The revocation committed with its SET outbox rows (ADR 0026): push them now.
      if (revoked.length > 0) setDelivery.wake();
      return view(revoked);
    },
  );
}
