/**
 * GET /metrics (CONTRACT §5) in the Prometheus text format, and the HTTP latency histogram.
 *
 * /metrics is unauthenticated, as Prometheus scrapes usually are: it holds counts and latencies,
 * never tokens, client ids or subjects. Keep it off the public network (bind HOST to an internal
 * interface, or filter `/metrics` at the proxy) when that matters.
 *
 * Latency is measured from fastify's first hook to the moment the response is written. The
 * `route` label is the route pattern (`/admin/agents/:id`), never the raw path: requests the
 * provider answers (token endpoint, JWKS, discovery) are labelled with their fixed path, and
 * anything else unmatched with `unmatched`.
 */
import type { FastifyInstance } from 'fastify';
import type { ServiceMetrics } from '../infra/metrics.js';

const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';

export function registerHttpMetrics(
  app: FastifyInstance,
  metrics: ServiceMetrics,
  providerPaths: ReadonlySet<string>,
): void {
  app.addHook('onRequest', async (request, reply) => {
    const started = process.hrtime.bigint();
    // Read now: the provider mount rewrites the raw URL of discovery requests.
    const pathname = request.url.split('?')[0] ?? '/';
    const fixedRoute = providerPaths.has(pathname) ? pathname : 'unmatched';
    // A raw 'finish' listener: the provider answers outside fastify's reply, so onResponse would
    // never see those requests.
    reply.raw.once('finish', () => {
      metrics.httpRequestDuration.observe(
        {
          method: request.method,
          route: request.routeOptions.url ?? fixedRoute,
          status_code: String(reply.raw.statusCode),
        },
        Number(process.hrtime.bigint() - started) / 1e9,
      );
    });
  });

  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics',
        description:
          'Token requests, token-exchange decisions by rule, latency histograms and process metrics, in the Prometheus text format. Unauthenticated.',
        tags: ['operations'],
      },
    },
    async (_request, reply) => {
      const body = await metrics.registry.metrics();
      return reply.header('Cache-Control', 'no-store').type(PROMETHEUS_TEXT).send(body);
    },
  );
}
