/**
 * What every request leaves behind: one structured log line and its place in the metrics, also
 * when its client went away before the end of its request, or of a streamed answer.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pino from 'pino';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { AccessLog } from './access-log.js';
import { CLIENT_CLOSED, clientClosed } from './request-parts.js';

export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'coffer_' });
  return registry;
}

/** What counts requests: see `countCutAnswers` for the contexts that stream. */
export interface RequestObserver {
  /**
   * In a context that streams answers (objects, parcels, presigned downloads): a client that
   * goes away mid-answer is counted as 499 too (its response never finishes, so no onResponse
   * runs). One listener per streamed answer, so not on the KV routes, whose answers are one write.
   */
  countCutAnswers(scope: FastifyInstance): void;
}

/**
 * The access line and the request metric, written from one place: onResponse for the requests
 * that were answered, onError and `countCutAnswers` for those their client abandoned.
 */
export function observeRequests(app: FastifyInstance, registry: Registry): RequestObserver {
  const duration = new Histogram({
    name: 'coffer_http_request_duration_seconds',
    help: 'Time to answer an HTTP request (its _count counts requests)',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [registry],
  });
  const access = new AccessLog(app.log as pino.Logger);
  app.addHook('onClose', (_app, done) => {
    access.close();
    done();
  });
  const observe = (request: FastifyRequest, status: number, ms: number) => {
    duration.observe({ method: request.method, route: request.routeOptions.url ?? 'unmatched', status }, ms / 1000);
    const query = request.url.indexOf('?');
    access.write({
      reqId: request.id,
      method: request.method,
      path: query < 0 ? request.url : request.url.slice(0, query),
      status,
      ms: Math.round(ms * 10) / 10,
      user: request.principal?.user.username,
    });
  };
  // Counted once, however many of the signs below an abandoned request shows.
  const abandoned = new WeakSet<FastifyRequest>();
  const observeAbandoned = (request: FastifyRequest, reply: FastifyReply) => {
    if (abandoned.has(request)) return;
    abandoned.add(request);
    observe(request, CLIENT_CLOSED, reply.elapsedTime);
  };
  app.addHook('onResponse', (request, reply, done) => {
    if (!clientClosed(request)) observe(request, reply.statusCode, reply.elapsedTime);
    done();
  });
  // A request whose client went away before sending all of it gets no response (no onResponse,
  // as a rule): it is counted here, as 499 (nginx's "client closed request").
  app.addHook('onError', (request, reply, _error, done) => {
    if (clientClosed(request)) observeAbandoned(request, reply);
    done();
  });
  return {
    countCutAnswers(scope) {
      scope.addHook('onSend', (request, reply, payload, done) => {
        // Only a streamed answer can be cut while it flows; the rest go out in one write.
        if (typeof (payload as { pipe?: unknown } | null)?.pipe === 'function') {
          reply.raw.once('close', () => {
            if (!reply.raw.writableFinished) observeAbandoned(request, reply);
          });
        }
        done(null, payload);
      });
    },
  };
}
