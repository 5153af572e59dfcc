/** Liveness, readiness, metrics and the API description. */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { CofferError } from '../../errors.js';
import type { Services } from '../../services.js';
import { sendProblem } from '../problem.js';
import { answers } from '../schemas/common.js';
import { Health, NotReady, Readiness, Text } from '../schemas/ops.js';

const tags = ['operations'];

export function opsRoutes(app: FastifyInstance, s: Services): void {
  app.get('/v1/ping', { schema: { tags, summary: 'Answers "pong"', response: answers({ 200: Text('pong') }) } }, async (_request, reply) =>
    reply.type('text/plain; charset=utf-8').send('pong'),
  );

  app.get('/healthz', { schema: { tags, summary: 'The process is up', response: answers({ 200: Health }) } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { tags, summary: 'The database and the blob store answer', response: answers({ 200: Readiness, 503: NotReady }) } }, async (_request, reply) => {
    const { ready, checks, blobStore } = await s.health.readiness();
    if (ready) return { status: 'ready', checks };
    return sendProblem(reply, new CofferError('unavailable', `Not ready: database ${checks.database}, blob store (${blobStore}) ${checks.blob_store}.`), { checks });
  });

  // Open by the Prometheus convention; with COFFER_METRICS_TOKEN set, for the scraper only.
  const metricsToken = s.config.metricsToken === undefined ? undefined : Buffer.from(s.config.metricsToken);
  app.get(
    '/metrics',
    { schema: { tags, summary: 'Prometheus metrics (Bearer COFFER_METRICS_TOKEN when set)', response: answers({ 200: Text('Prometheus text format') }) } },
    async (request, reply) => {
    if (metricsToken && !bearerMatches(request.headers.authorization, metricsToken)) {
      throw new CofferError('unauthorized', 'GET /metrics needs "Authorization: Bearer <COFFER_METRICS_TOKEN>".', {
        'www-authenticate': 'Bearer realm="coffer-metrics"',
      });
    }
    return reply.type(s.metrics.contentType).send(await s.metrics.metrics());
    },
  );

}

/** Whether `Authorization` is `Bearer <expected>`, compared in constant time. */
function bearerMatches(header: string | undefined, expected: Buffer): boolean {
  const given = Buffer.from(/^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '')?.[1] ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
