/** Liveness, readiness, metrics and the API description. */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { CofferError } from '../../errors.js';
import type { Services } from '../../app.js';
import { sendProblem } from '../problem.js';

export function opsRoutes(app: FastifyInstance, s: Services): void {
  app.get('/v1/ping', { schema: { tags: ['operations'], summary: 'Answers "pong" (text/plain)' } }, async (_request, reply) =>
    reply.type('text/plain; charset=utf-8').send('pong'),
  );

  app.get('/healthz', { schema: { tags: ['operations'], summary: 'The process is up' } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { tags: ['operations'], summary: 'The database and the blob store answer' } }, async (request, reply) => {
    const checks = { database: 'ok', blob_store: 'ok' };
    await s.store.ping().catch((err: unknown) => {
      request.log.warn({ err }, 'readiness: the database does not answer');
      checks.database = 'failing';
    });
    await s.blobs.ping().catch((err: unknown) => {
      request.log.warn({ err }, 'readiness: the blob store does not answer');
      checks.blob_store = 'failing';
    });
    if (checks.database === 'ok' && checks.blob_store === 'ok') return { status: 'ready', checks };
    return sendProblem(reply, new CofferError(503, 'unavailable', `Not ready: database ${checks.database}, blob store (${s.blobs.kind}) ${checks.blob_store}.`), { checks });
  });

  // Open by the Prometheus convention; with COFFER_METRICS_TOKEN set, for the scraper only.
  const metricsToken = s.config.metricsToken === undefined ? undefined : Buffer.from(s.config.metricsToken);
  app.get('/metrics', { schema: { tags: ['operations'], summary: 'Prometheus metrics (Bearer COFFER_METRICS_TOKEN when set)' } }, async (request, reply) => {
    if (metricsToken && !bearerMatches(request.headers.authorization, metricsToken)) {
      throw new CofferError(401, 'unauthorized', 'GET /metrics needs "Authorization: Bearer <COFFER_METRICS_TOKEN>".', {
        'www-authenticate': 'Bearer realm="coffer-metrics"',
      });
    }
    return reply.type(s.metrics.contentType).send(await s.metrics.metrics());
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}

/** Whether `Authorization` is `Bearer <expected>`, compared in constant time. */
function bearerMatches(header: string | undefined, expected: Buffer): boolean {
  const given = Buffer.from(/^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '')?.[1] ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
