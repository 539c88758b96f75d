/**
 * /admin/keys (CONTRACT §4): the signing keys and their state, and rotation. A rotated-in key is
 * published at once and signs after KEY_ROTATION_DELAY_SECONDS, so resource servers' JWKS caches
 * hold it before the first token carries its kid; the key it replaces stays published until every
 * token it signed has expired (RFC 9700 §2.6, SECURITY-CASES KM-02). Private halves never leave
 * the server (KM-01).
 */
import type { FastifyInstance } from 'fastify';
import { ProblemError } from '../problem.js';
import { SigningKeyList, SigningKeyView } from './schemas.js';
import { signingKeyView } from './views.js';

export async function keyRoutes(app: FastifyInstance) {
  const { signingKeys } = app.sts;

  app.get(
    '/keys',
    {
      schema: {
        summary: 'List signing keys',
        description:
          'Every signing key, newest first, with its state (next, active, retired), whether it is published in the JWKS, and its public JWK.',
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
      // Nothing is configurable here: a body can only be a mistake (unknown fields are refused).
      const body = request.body as unknown;
      if (body !== undefined && (typeof body !== 'object' || body === null || Object.keys(body).length > 0)) {
        throw new ProblemError(400, 'validation_failed', 'key rotation takes no body', [
          { path: '/', message: 'must be empty' },
        ]);
      }
      const key = await signingKeys.rotate();
      request.log.info({ kid: key.kid, state: key.state }, 'admin rotated the signing key');
      return reply.code(201).send(signingKeyView(key));
    },
  );
}
