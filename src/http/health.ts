/**
 * Liveness and readiness (CONTRACT §5): /healthz says the process is up; /readyz says the
 * database answers and signing keys are loaded, else 503 so a load balancer stops routing here.
 */
import type { FastifyInstance } from 'fastify';
import type { Database } from '../infra/database.js';
import type { KeySet } from '../infra/signing-keys.js';

const READINESS_TIMEOUT_MS = 2_000;

export async function healthRoutes(
  app: FastifyInstance,
  options: { database: Database; keys: () => KeySet | null },
) {
  const liveness = { schema: { summary: 'Liveness: the process is up', tags: ['operations'] } };
  const readiness = {
    schema: {
      summary: 'Readiness: the database answers and signing keys are loaded, else 503',
      tags: ['operations'],
    },
  };
  app.get('/healthz', liveness, async () => ({ status: 'ok' }));

  app.get('/readyz', readiness, async (_request, reply) => {
    const checks = { database: false, keys: options.keys() !== null };
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        options.database.query('SELECT 1'),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('timeout')), READINESS_TIMEOUT_MS);
        }),
      ]);
      checks.database = true;
    } catch {
      checks.database = false;
    } finally {
      clearTimeout(timer);
    }
    const ready = checks.database && checks.keys;
    return reply
      .code(ready ? 200 : 503)
      .header('Cache-Control', 'no-store')
      .send({ status: ready ? 'ready' : 'unavailable', checks });
  });
}
