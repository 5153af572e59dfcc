/**
 * The HTTP server: Fastify with Coffer's parsers, limits, headers and error handling, then the
 * routes, each given the services only (the API docs are built on first request: api-docs.ts).
 * Protected routes sit in one child context that authenticates first, so a new route cannot
 * forget it.
 */
import { readFileSync } from 'node:fs';
import ajvCompiler from '@fastify/ajv-compiler';
import cors from '@fastify/cors';
import formbody from '@fastify/formbody';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { badRequest } from '../errors.js';
import type { Services } from '../services.js';
import { jsonTooDeep, tooDeepMessage } from '../util/json-depth.js';
import { docsRoutes, noteRoutes } from './api-docs.js';
import { requireAccessToken } from './auth-context.js';
import { observeRequests } from './metrics.js';
import { clientErrorHandler, connectHandler, expectationFailedHandler, frameworkErrorHandler, installProblemHandlers } from './problem.js';
import { addRateLimits } from './rate-limits.js';
import { originFormTarget } from './request-target.js';
import { authProtectedRoutes, authPublicRoutes } from './routes/auth.js';
import { consoleRoutes } from './routes/console.js';
import { keyRoutes } from './routes/keys.js';
import { kvRoutes } from './routes/kv.js';
import { objectRoutes } from './routes/objects.js';
import { opsRoutes } from './routes/ops.js';
import { challengeRoutes, parcelRoutes } from './routes/parcels.js';
import { presignedRoutes, presignRoutes } from './routes/presign.js';
import { userPublicRoutes, userRoutes } from './routes/users.js';
import { addSecurityHeaders, securityHeaders, setHeaders } from './security-headers.js';

/**
 * Validation: query strings, params and headers are text, so they are coerced to the types their
 * schemas name; bodies are taken as they were sent, so that `{"user": 42}` stays a number that
 * the service refuses rather than becoming "42". Unknown fields are never silently dropped.
 */
const validators: ajvCompiler.BuildCompilerFromPool = (externalSchemas, serverOptions) => {
  const factory = ajvCompiler();
  const plugins = serverOptions?.plugins ? { plugins: serverOptions.plugins } : {};
  const options = (coerceTypes: 'array' | false) => ({ ...plugins, customOptions: { removeAdditional: false, useDefaults: true, allowUnionTypes: true, coerceTypes } });
  const coercing = factory(externalSchemas, options('array'));
  const exact = factory(externalSchemas, options(false));
  return (route) => (route.httpPart === 'body' ? exact : coercing)(route);
};

function hops(count: number) {
  return (_address: string, hop: number) => hop < count;
}

/** A Fastify instance with Coffer's settings; its logger is the process's logger. */
export async function createServer(config: Config): Promise<FastifyInstance> {
  // Headers must arrive within headersTimeout (checked every second); a body may take as long as
  // it likes while it keeps moving (connectionTimeout cuts a socket idle for bodyTimeoutMs).
  // A missing Host is refused below (RFC 9112 §3.2: 400) rather than by Node, whose 400 is bare.
  const serverOptions = { headersTimeout: config.headersTimeoutMs, connectionsCheckingInterval: 1000, requireHostHeader: false };
  const headers = securityHeaders({ https: Boolean(config.tlsCert) });
  const app = Fastify({
    logger: {
      level: config.logLevel,
      // Credentials never reach the log: no log line carries headers or bodies, and these paths
      // are censored should one ever include request headers.
      redact: ['req.headers.authorization', 'req.headers["x-access-tokens"]', 'req.headers["x-auth-token"]'],
    },
    // One line per request, written by observeRequests.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes,
    connectionTimeout: config.bodyTimeoutMs,
    requestTimeout: 0,
    return503OnClosing: true,
    // Answers given before the onRequest hooks carry the security headers too.
    frameworkErrors: (error, request, reply) => {
      setHeaders(reply.raw, headers);
      frameworkErrorHandler(error, request, reply);
    },
    rewriteUrl: originFormTarget,
    // A hop count believes that many proxies in front; addresses believe only those.
    trustProxy: typeof config.trustProxy === 'number' ? hops(config.trustProxy) : config.trustProxy,
    clientErrorHandler: (error, socket) => clientErrorHandler(error, socket, headers),
    schemaController: { compilersFactory: { buildValidator: validators } },
    ...(config.tlsCert && config.tlsKey
      ? { https: { ...serverOptions, cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) } }
      : { http: serverOptions }),
  });
  installProblemHandlers(app);
  app.server.on('checkExpectation', expectationFailedHandler(headers));
  app.server.on('connect', connectHandler(headers));
  app.decorateRequest('principal', null);
  // Bodies of other types (text/plain included) reach the routes that take them (KV raw values)
  // as bytes; the routes that want fields refuse them with 415.
  app.removeContentTypeParser('text/plain');
  // An empty body declared as JSON is no body (clients that set the header on every call).
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') return done(null, undefined);
    if (jsonTooDeep(body as string)) return done(badRequest(tooDeepMessage, 'invalid_json'), undefined);
    return parseJson(request, body as string, done);
  });
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  await app.register(formbody);
  addSecurityHeaders(app, headers);
  app.addHook('onRequest', (request, _reply, done) => {
    if (request.headers.host === undefined && request.raw.httpVersion === '1.1') done(badRequest('An HTTP/1.1 request needs a Host header (RFC 9112 §3.2).', 'invalid_request'));
    else done();
  });
  if (config.corsOrigins.length > 0) {
    await app.register(cors, { origin: config.corsOrigins.includes('*') ? true : config.corsOrigins, exposedHeaders: ['etag', 'retry-after'] });
  }
  return app;
}

/** Every route, with the services they call. */
export async function registerRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const described = noteRoutes(app);
  const requests = observeRequests(app, services.metrics);
  const limitAddress = await addRateLimits(app, services.rateLimits, { max: services.config.rateLimit, windowMs: services.config.rateLimitWindowSeconds * 1000 });
  await app.register(async (open) => {
    opsRoutes(open, services);
    docsRoutes(open, described);
    consoleRoutes(open);
    authPublicRoutes(open, services);
    userPublicRoutes(open, services);
    challengeRoutes(open, services);
    await open.register(async (presigned) => {
      requests.countCutAnswers(presigned);
      presignedRoutes(presigned, services);
    });
    // Its own context: signed requests (SPEC §2 challenge) and streamed or large JSON bodies.
    await open.register(async (parcels) => {
      requests.countCutAnswers(parcels);
      parcelRoutes(parcels, services);
    });
  });
  await app.register(async (protectedScope) => {
    requireAccessToken(protectedScope, services.tokens, services.assertions, limitAddress);
    authProtectedRoutes(protectedScope, services);
    userRoutes(protectedScope, services);
    kvRoutes(protectedScope, services);
    keyRoutes(protectedScope, services);
    presignRoutes(protectedScope, services);
    // Its own context: uploads need a content-type parser that does not read the body.
    await protectedScope.register(async (objectScope) => {
      requests.countCutAnswers(objectScope);
      objectRoutes(objectScope, services);
    });
  });
}
