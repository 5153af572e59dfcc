/**
 * The composition root: validated config -> stores -> services -> Fastify instance.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import cors from '@fastify/cors';
import formbody from '@fastify/formbody';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Audit } from './auth/audit.js';
import { AssertionService } from './auth/assertions.js';
import { AuthService } from './auth/auth-service.js';
import { ChallengeService } from './auth/challenges.js';
import { KeyService } from './auth/key-service.js';
import { LoginThrottle } from './auth/login-throttle.js';
import { SigningKeys } from './auth/signing-keys.js';
import { TokenService } from './auth/tokens.js';
import type { Config } from './config.js';
import { badRequest } from './errors.js';
import { KvService } from './kv/kv-service.js';
import { requireAccessToken } from './http/auth-context.js';
import { createMetricsRegistry, observeRequests } from './http/metrics.js';
import { clientErrorHandler, frameworkErrorHandler, installProblemHandlers } from './http/problem.js';
import { originFormTarget } from './http/request-target.js';
import { addSecurityHeaders } from './http/security-headers.js';
import { authProtectedRoutes, authPublicRoutes } from './http/routes/auth.js';
import { keyRoutes } from './http/routes/keys.js';
import { kvRoutes } from './http/routes/kv.js';
import { objectRoutes } from './http/routes/objects.js';
import { challengeRoutes, parcelRoutes } from './http/routes/parcels.js';
import { presignedRoutes, presignRoutes } from './http/routes/presign.js';
import { opsRoutes } from './http/routes/ops.js';
import { userPublicRoutes, userRoutes } from './http/routes/users.js';
import { ObjectService } from './parcels/object-service.js';
import { ParcelService } from './parcels/parcel-service.js';
import { PresignService } from './parcels/presign-service.js';
import { jsonTooDeep, tooDeepMessage } from './util/json-depth.js';
import { securePrivateDir } from './util/private-dir.js';
import { loadOrCreateSecret } from './util/secret-file.js';
import { createBlobStore, type BlobStore } from './storage/blob/index.js';
import { createMetadataStore, type MetadataStore } from './storage/meta/index.js';
import { UserService } from './users/user-service.js';

export interface Services {
  config: Config;
  store: MetadataStore;
  blobs: BlobStore;
  signingKeys: SigningKeys;
  keys: KeyService;
  tokens: TokenService;
  auth: AuthService;
  users: UserService;
  kv: KvService;
  objects: ObjectService;
  parcels: ParcelService;
  challenges: ChallengeService;
  assertions: AssertionService;
  presign: PresignService;
  audit: Audit;
  metrics: Registry;
}

export interface CofferApp {
  app: FastifyInstance;
  services: Services;
  /** Set when the admin was created on this start with a generated password (print it once). */
  generatedAdminPassword: string | undefined;
  close(): Promise<void>;
}

const SWEEP_INTERVAL_MS = 60_000;
/** Blobs younger than this are never taken for orphans (their upload may be committing). */
const ORPHAN_GRACE_MS = 3_600_000;
/** Listing every blob is not free: look for orphans once an hour. */
const ORPHAN_SWEEP_EVERY = 60;

export async function buildApp(config: Config): Promise<CofferApp> {
  // Headers must arrive within headersTimeout (checked every second); a body may take as long as
  // it likes while it keeps moving (connectionTimeout cuts a socket idle for bodyTimeoutMs).
  const serverTimeouts = { headersTimeout: config.headersTimeoutMs, connectionsCheckingInterval: 1000 };
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
    frameworkErrors: frameworkErrorHandler,
    rewriteUrl: originFormTarget,
    clientErrorHandler: clientErrorHandler,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
    ...(config.tlsCert && config.tlsKey
      ? { https: { ...serverTimeouts, cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) } }
      : { http: serverTimeouts }),
  });

  const tightened = await securePrivateDir(config.dataDir);
  if (tightened.length > 0) app.log.warn({ tightened }, `the data directory was readable by other accounts; tightened ${tightened.length} mode(s)`);
  const audit: Audit = (event, fields) => app.log.info({ audit: event, ...fields }, `audit ${event}`);
  const store = await createMetadataStore(config.databaseUrl);
  const blobs = await createBlobStore(config);
  const objects = new ObjectService(store, blobs);
  const signingKeys = await SigningKeys.open({
    algorithm: config.jwtAlgorithm,
    dataDir: config.dataDir,
    ...(config.jwtSecret ? { secret: config.jwtSecret } : {}),
    retireAfterMs: (config.accessTokenTtl + config.clockSkewSeconds) * 1000,
  });
  const tokens = new TokenService(store, signingKeys, {
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    accessTtl: config.accessTokenTtl,
    refreshTtl: config.refreshTokenTtl,
    clockSkew: config.clockSkewSeconds,
  }, audit);
  const throttle = new LoginThrottle(store, config.loginMaxFailures, config.loginWindowSeconds * 1000);
  const users = new UserService(store, audit, config, (userId) => objects.deleteAll(userId));
  const services: Services = {
    config,
    store,
    blobs,
    signingKeys,
    keys: new KeyService(store, audit),
    tokens,
    auth: new AuthService(store, tokens, throttle, audit, config.accessTokenTtl),
    users,
    kv: new KvService(store, config.kvMaxBytes),
    objects,
    parcels: new ParcelService(store, objects, config.parcelStorageId),
    challenges: new ChallengeService(store, users, signingKeys, {
      issuer: config.jwtIssuer,
      ttlSeconds: config.challengeTtl,
      selfRegistration: config.pubkeySelfRegistration,
    }, audit),
    assertions: new AssertionService(store, signingKeys, config.clockSkewSeconds, audit),
    presign: new PresignService(store, blobs, objects, await loadOrCreateSecret(path.join(config.dataDir, 'keys', 'presign.key'))),
    audit,
    metrics: createMetricsRegistry(),
  };

  const bootstrap = await services.users.bootstrapAdmin(config.adminUser, config.adminPassword);

  installProblemHandlers(app);
  observeRequests(app, services.metrics);
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
  addSecurityHeaders(app, { https: Boolean(config.tlsCert) });
  if (config.corsOrigins.length > 0) {
    await app.register(cors, { origin: config.corsOrigins.includes('*') ? true : config.corsOrigins, exposedHeaders: ['etag', 'retry-after'] });
  }
  await app.register(swagger, {
    openapi: {
      info: { title: 'Coffer', version: '0.1.0', description: 'Storage service with token authentication' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          challenge: { type: 'apiKey', in: 'header', name: 'X-Auth-Token', description: 'with X-Public-Key and X-Signature (SPEC §2)' },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  await app.register(async (open) => {
    opsRoutes(open, services);
    authPublicRoutes(open, services);
    userPublicRoutes(open, services);
    challengeRoutes(open, services);
    await open.register(async (presigned) => presignedRoutes(presigned, services));
    // Its own context: signed requests (SPEC §2 challenge) and streamed or large JSON bodies.
    await open.register(async (parcels) => parcelRoutes(parcels, services));
  });
  await app.register(async (protectedScope) => {
    requireAccessToken(protectedScope, tokens, services.assertions);
    authProtectedRoutes(protectedScope, services);
    userRoutes(protectedScope, services);
    kvRoutes(protectedScope, services);
    keyRoutes(protectedScope, services);
    presignRoutes(protectedScope, services);
    // Its own context: uploads need a content-type parser that does not read the body.
    await protectedScope.register(async (objectScope) => objectRoutes(objectScope, services));
  });

  let sweeps = 0;
  const sweeper = setInterval(() => {
    store.sweep(Date.now(), config.loginWindowSeconds * 1000).catch((err) => app.log.warn({ err }, 'sweep failed'));
    objects.sweepPending().catch((err) => app.log.warn({ err }, 'sweep of presigned uploads failed'));
    if (++sweeps % ORPHAN_SWEEP_EVERY === 0) {
      objects
        .sweepOrphans(ORPHAN_GRACE_MS)
        .then((removed) => removed > 0 && app.log.info({ removed }, 'removed orphan blobs'))
        .catch((err) => app.log.warn({ err }, 'sweep of orphan blobs failed'));
    }
  }, SWEEP_INTERVAL_MS);
  sweeper.unref();

  return {
    app,
    services,
    generatedAdminPassword: bootstrap.generatedPassword,
    async close() {
      clearInterval(sweeper);
      await app.close();
      await store.close();
    },
  };
}
