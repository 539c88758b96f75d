/**
 * /admin/keys (CONTRACT §4): the signing keys and their state, rotation and emergency revocation.
 * A rotated-in key is published at once and signs after KEY_ROTATION_DELAY_SECONDS, so resource
 * servers' JWKS caches hold it before the first token carries its kid; the key it replaces stays
 * published until every token it signed has expired (RFC 9700 §2.6, SECURITY-CASES KM-02). A
 * revoked key leaves the JWKS and stops signing and verifying at once (KM-02 "emergency revoke").
 * Private halves never leave the server (KM-01).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ProblemError } from '../problem.js';
import { changedBy, notFound } from './common.js';
import { KidParams, SigningKeyList, SigningKeyRevocation, SigningKeyView } from './schemas.js';
import { signingKeyView } from './views.js';

/** Nothing is configurable on these actions: a body can only be a mistake (unknown fields are refused). */
function refuseBody(request: FastifyRequest, action: string): void {
  const body = request.body as unknown;
  if (body !== undefined && (typeof body !== 'object' || body === null || Object.keys(body).length > 0)) {
    throw new ProblemError(400, 'validation_failed', `${action} takes no body`, [
      { path: '/', message: 'must be empty' },
    ]);
  }
}

export async function keyRoutes(app: FastifyInstance) {
  const { signingKeys } = app.sts;

  app.get(
    '/keys',
    {
      schema: {
        summary: 'List signing keys',
        description:
          'Every signing key, newest first, with its state (next, active, retired, revoked), whether it is published in the JWKS, and its public JWK.',
        response: { 200: SigningKeyList },
      },
    },
    async () => ({ items: (await signingKeys.list()).map(signingKeyView) }),
  );

  app.post(
    '/keys/rotate',
    {
      schema: {
        summary: 'Rotate the signing key',
        description:
          'Creates a key in state next, published in the JWKS at once. It becomes active after KEY_ROTATION_DELAY_SECONDS (at once when 0) and the active key retires; a retired key stays published until every token it signed has expired. Takes no body.',
        response: { 201: SigningKeyView },
      },
    },
    async (request, reply) => {
      refuseBody(request, 'key rotation');
      const key = await signingKeys.rotate(changedBy(request));
      request.log.info({ kid: key.kid, state: key.state }, 'admin rotated the signing key');
      return reply.code(201).send(signingKeyView(key));
    },
  );

  app.post<{ Params: KidParams }>(
    '/keys/:kid/revoke',
    {
      schema: {
        summary: 'Revoke a signing key (emergency)',
        description:
          'For a key believed compromised. It leaves the JWKS at once, never signs again, and tokens it signed are no longer accepted as subject or actor tokens nor active at introspection; other instances follow within a second, told by the change feed (ADR 0017). When it is the active key, a new key is generated and signs at once, without the publication delay of a rotation, so resource servers must refetch the JWKS for its kid. 404 for an unknown kid, 409 when already revoked. Takes no body.',
        params: KidParams,
        response: { 200: SigningKeyRevocation },
      },
    },
    async (request) => {
      refuseBody(request, 'key revocation');
      const { kid } = request.params;
      const outcome = await signingKeys.revoke(kid, changedBy(request));
      if (outcome.kind === 'not_found') throw notFound('signing key', kid);
      if (outcome.kind === 'already_revoked') {
        throw new ProblemError(409, 'conflict', `signing key "${kid}" is already revoked`);
      }
      // Audit trail of an emergency: who, which kid, what it was, what signs now. No key material.
      request.log.warn(
        {
          event: 'signing_key_revoked',
          kid,
          previousState: outcome.previousState,
          activeKid: outcome.active.kid,
          replacedActiveKey: outcome.previousState === 'active',
          admin: adminIdentity(request),
        },
        'admin revoked a signing key',
      );
      return { revoked: signingKeyView(outcome.revoked), active: signingKeyView(outcome.active) };
    },
  );
}

/** Who called, as the log may show it: never the credential itself. */
function adminIdentity(request: FastifyRequest): Record<string, string> {
  const admin = request.admin;
  if (!admin) return { kind: 'unknown' };
  if (admin.kind === 'admin_token') return { kind: 'admin_token' };
  return { kind: admin.kind, clientId: admin.clientId, subject: admin.subject, jti: admin.jti };
}
