/**
 * The API's description (/openapi.json) and its browsable UI (/docs), built on the first request
 * for either. @fastify/swagger and its UI (and the YAML library they bring) cost a few MiB of
 * every node's memory, and most nodes never serve a docs page (issue 16: load what a setup does
 * not use lazily). The routes are noted as they are declared, and on the first docs request a
 * separate Fastify instance, never listening, is given the same routes with their schemas and
 * answers the docs requests from then on.
 */
import type { SwaggerOptions } from '@fastify/swagger';
import type { IncomingMessage } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, type RouteOptions } from 'fastify';
import { installProblemHandlers } from './problem.js';

const swaggerOptions: SwaggerOptions = {
  // Bodies a route takes as raw bytes or a stream are not validated, only described.
  transform: ({ schema, url, route }) => {
    const raw = (route.config as { bodyDoc?: Record<string, unknown> } | undefined)?.bodyDoc;
    if (!raw) return { schema, url };
    const body = schema?.body as { content?: Record<string, unknown> } | undefined;
    return { schema: { ...schema, body: { content: { ...(body?.content ?? {}), ...raw } } }, url };
  },
  openapi: {
    info: { title: 'Coffer', version: '0.1.0', description: 'Storage service with token authentication' },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        challenge: { type: 'apiKey', in: 'header', name: 'X-Auth-Token', description: 'with X-Public-Key and X-Signature (SPEC §2)' },
      },
    },
  },
};

/** Notes every route `app` and its children declare from now on; call before declaring routes. */
export function noteRoutes(app: FastifyInstance): RouteOptions[] {
  const routes: RouteOptions[] = [];
  app.addHook('onRoute', (route) => {
    if (!route.schema?.hide) routes.push({ ...route });
  });
  return routes;
}

/** A docs request is known to the docs instance by the main request's id (its log lines, its errors). */
const requestIds = new WeakMap<IncomingMessage, string>();

/** A failed build is tried again after this long, not on every request. */
const RETRY_BUILD_MS = 5000;

/** GET /openapi.json and /docs/*, answered by the docs instance built on first use. */
export function docsRoutes(app: FastifyInstance, routes: RouteOptions[]): void {
  let docs: Promise<FastifyInstance> | undefined;
  const forward = async (request: FastifyRequest, reply: FastifyReply) => {
    docs ??= buildDocs(routes, app.log).catch((error: unknown) => {
      app.log.error({ err: error }, 'the API docs could not be built');
      setTimeout(() => (docs = undefined), RETRY_BUILD_MS).unref();
      throw error;
    });
    const instance = await docs;
    // What the main pipeline set on this reply (CORS headers) goes out with the docs' answer.
    for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) reply.raw.setHeader(name, value);
    requestIds.set(request.raw, request.id);
    reply.hijack();
    instance.routing(request.raw, reply.raw);
  };
  const hidden = { schema: { hide: true } };
  app.get('/openapi.json', hidden, forward);
  app.get('/docs', hidden, forward);
  app.get('/docs/*', hidden, forward);
}

async function buildDocs(routes: RouteOptions[], log: FastifyBaseLogger): Promise<FastifyInstance> {
  const [{ default: swagger }, { default: swaggerUi }] = await Promise.all([import('@fastify/swagger'), import('@fastify/swagger-ui')]);
  const docs = Fastify({
    // The main instance logs each request; this one logs only what goes wrong, under its id.
    loggerInstance: log.child({ docs: true }),
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: (raw) => requestIds.get(raw) ?? 'docs',
  });
  // Nothing is validated or serialized here: the routes exist only to be described.
  docs.setValidatorCompiler(() => () => true);
  docs.setSerializerCompiler(() => (data) => JSON.stringify(data));
  installProblemHandlers(docs); // a missing docs file is a problem+json 404 like any other
  await docs.register(swagger, swaggerOptions);
  await docs.register(swaggerUi, { routePrefix: '/docs' });
  docs.get('/openapi.json', { schema: { hide: true } }, async () => docs.swagger());
  const described = () => {
    throw new Error('a route of the docs instance was called');
  };
  // HEAD routes come back as they first came: made by Fastify for each GET.
  for (const route of routes.filter((r) => r.method !== 'HEAD')) {
    docs.route({ method: route.method, url: route.url, schema: route.schema, config: route.config, handler: described });
  }
  await docs.ready();
  return docs;
}
