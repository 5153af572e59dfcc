/** What every request leaves behind: one structured log line and its place in the metrics. */
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'coffer_' });
  return registry;
}

/** One onResponse hook for both, since it runs on every request. */
export function observeRequests(app: FastifyInstance, registry: Registry): void {
  const duration = new Histogram({
    name: 'coffer_http_request_duration_seconds',
    help: 'Time to answer an HTTP request (its _count counts requests)',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [registry],
  });
  app.addHook('onResponse', (request, reply, done) => {
    const status = reply.statusCode;
    const ms = reply.elapsedTime;
    duration.observe({ method: request.method, route: request.routeOptions.url ?? 'unmatched', status }, ms / 1000);
    request.log.info(
      { method: request.method, path: request.url.split('?')[0], status, ms: Math.round(ms * 10) / 10, user: request.principal?.user.username },
      'request',
    );
    done();
  });
}
