/** Liveness, readiness, metrics and the API description. */
import type { FastifyInstance } from 'fastify';
import { CofferError } from '../../errors.js';
import type { Services } from '../../app.js';
import { sendProblem } from '../problem.js';

export function opsRoutes(app: FastifyInstance, s: Services): void {
  app.get('/v1/ping', { schema: { tags: ['operations'], summary: 'Answers "pong" (text/plain)' } }, async (_request, reply) =>
    reply.type('text/plain; charset=utf-8').send('pong'),
  );

  app.get('/healthz', { schema: { tags: ['operations'], summary: 'The process is up' } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { tags: ['operations'], summary: 'The database answers' } }, async (request, reply) => {
    try {
      await s.store.ping();
      return { status: 'ready', checks: { database: 'ok' } };
    } catch (e) {
      request.log.warn({ err: e }, 'readiness check failed');
      return sendProblem(reply, new CofferError(503, 'unavailable', 'The metadata database does not answer.'));
    }
  });

  app.get('/metrics', { schema: { tags: ['operations'], summary: 'Prometheus metrics' } }, async (_request, reply) =>
    reply.type(s.metrics.contentType).send(await s.metrics.metrics()),
  );

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
