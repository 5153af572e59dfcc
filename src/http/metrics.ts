/**
 * What every request leaves behind: one structured log line and its place in the metrics, also
 * when its client went away before the end of its request.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { CLIENT_CLOSED, clientClosed } from './request-parts.js';

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
  const observe = (request: FastifyRequest, status: number, ms: number) => {
    duration.observe({ method: request.method, route: request.routeOptions.url ?? 'unmatched', status }, ms / 1000);
    request.log.info(
      { method: request.method, path: request.url.split('?')[0], status, ms: Math.round(ms * 10) / 10, user: request.principal?.user.username },
      'request',
    );
  };
  app.addHook('onResponse', (request, reply, done) => {
    if (!clientClosed(request)) observe(request, reply.statusCode, reply.elapsedTime);
    done();
  });
  // A request whose client went away before sending all of it gets no response (no onResponse,
  // as a rule): it is counted here, once, as 499 (nginx's "client closed request").
  app.addHook('onError', (request, reply, _error, done) => {
    if (clientClosed(request)) observe(request, CLIENT_CLOSED, reply.elapsedTime);
    done();
  });
}
