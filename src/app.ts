/**
 * The composition root: validated config -> stores -> services -> HTTP server. The only place
 * that knows every concrete class; everything else depends on the ports of its own area.
 */
import type { FastifyInstance } from 'fastify';
import { AccessCache } from './auth/access-cache.js';
import { AccessFeed } from './auth/access-feed.js';
import { AssertionService } from './auth/assertions.js';
import { AuthService } from './auth/auth-service.js';
import { LoginThrottle } from './auth/login-throttle.js';
import { TokenService } from './auth/tokens.js';
import type { Config } from './config.js';
import { createMetricsRegistry } from './http/metrics.js';
import { createServer, registerRoutes } from './http/server.js';
import { KeyService } from './keys/key-service.js';
import { openKeyring } from './keyring.js';
import { KvService } from './kv/kv-service.js';
import { ObjectService } from './objects/object-service.js';
import { ObjectSweeper } from './objects/object-sweeper.js';
import { PresignService } from './objects/presign-service.js';
import type { Audit } from './util/audit.js';
import { HealthService } from './ops/health-service.js';
import { RateLimits } from './ops/rate-limits.js';
import { startSweeps } from './ops/sweeper.js';
import { ChallengeService } from './parcels/challenges.js';
import { parcelPaths, ParcelService } from './parcels/parcel-service.js';
import type { Services } from './services.js';
import { createBlobStore, type BlobStore } from './storage/blob/index.js';
import { createMetadataStores, type MetadataStores } from './storage/meta/index.js';
import { PasswordHasher } from './users/passwords.js';
import { UserService } from './users/user-service.js';
import { systemClock, type Clock } from './util/clock.js';
import { securePrivateDir } from './util/private-dir.js';

export interface CofferApp {
  app: FastifyInstance;
  services: Services;
  /** What the services stand on, for operations and tests: the stores and the sweeps. */
  internals: { stores: MetadataStores; blobs: BlobStore; sweeper: ObjectSweeper };
  /** Set when the admin was created on this start with a generated password (print it once). */
  generatedAdminPassword: string | undefined;
  close(): Promise<void>;
}

export interface BuildOptions {
  /** The time every service reads (tests control it). */
  clock?: Clock;
}

export async function buildApp(config: Config, options: BuildOptions = {}): Promise<CofferApp> {
  const clock = options.clock ?? systemClock;
  const app = await createServer(config);
  const tightened = await securePrivateDir(config.dataDir);
  if (tightened.length > 0) app.log.warn({ tightened }, `the data directory was readable by other accounts; tightened ${tightened.length} mode(s)`);
  const audit: Audit = (event, fields) => app.log.info({ audit: event, ...fields }, `audit ${event}`);

  const stores = await createMetadataStores(config.databaseUrl);
  const blobs = await createBlobStore(config);
  const { signingKeys, presignSecret } = await openKeyring(config, clock, stores);
  if (stores.dialect === 'postgres' && !config.secretKey && config.jwtAlgorithm !== 'HS256') {
    app.log.warn(
      'COFFER_SECRET_KEY is not set: this node signs with keys of its own data directory, so other nodes on this database refuse its tokens. Give every node the same COFFER_SECRET_KEY.',
    );
  }
  // What every node must see within a second: revocations, and keys another node rotated.
  const accessCache = new AccessCache();
  const feed = new AccessFeed(
    stores.accessEvents,
    accessCache,
    (event) => event.kind === 'keys' && void signingKeys.reloadIfChanged().catch((err) => app.log.warn({ err }, 'cannot reload the signing keys')),
    { warn: (err, message) => app.log.warn({ err }, message) },
  );
  await feed.start();

  const tokenSettings = {
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    accessTtl: config.accessTokenTtl,
    refreshTtl: config.refreshTokenTtl,
    clockSkew: config.clockSkewSeconds,
  };
  const tokens = new TokenService(stores.tokens, signingKeys, tokenSettings, audit, clock, accessCache, feed);
  const objects = new ObjectService(stores.objects, blobs, parcelPaths(stores.parcels), clock);
  const passwords = new PasswordHasher({ concurrency: config.passwordHashConcurrency, queue: config.passwordHashQueue });
  const users = new UserService(
    stores.users,
    passwords,
    audit,
    config,
    (userId) => objects.deleteAll(userId),
    () => tokens.accessChanged(),
    clock,
  );
  const keys = new KeyService(stores.keys, audit, clock);
  const throttle = new LoginThrottle(stores.loginFailures, config.loginMaxFailures, config.loginWindowSeconds * 1000, clock);
  const challengeSettings = { issuer: config.jwtIssuer, ttlSeconds: config.challengeTtl, selfRegistration: config.pubkeySelfRegistration };
  const services: Services = {
    config,
    auth: new AuthService(stores.users, passwords, tokens, signingKeys, throttle, audit, config.accessTokenTtl),
    tokens,
    assertions: new AssertionService(stores.users, stores.keys, signingKeys, config.clockSkewSeconds, audit, clock),
    users,
    keys,
    kv: new KvService(stores.kv, config.kvMaxBytes, clock),
    objects,
    presign: new PresignService(stores.users, blobs, objects, presignSecret, clock),
    parcels: new ParcelService(stores.parcels, stores.users, objects, config.parcelStorageId, clock),
    challenges: new ChallengeService(stores.tokens, stores.users, users, keys, signingKeys, challengeSettings, audit, clock),
    rateLimits: new RateLimits(stores.rateLimits, clock),
    health: new HealthService(stores.maintenance, blobs, (err, message) => app.log.warn({ err }, message)),
    audit,
    metrics: createMetricsRegistry(),
  };
  const bootstrap = await users.bootstrapAdmin(config.adminUser, config.adminPassword);
  await registerRoutes(app, services);

  const sweeper = new ObjectSweeper(stores.maintenance, blobs, objects, clock);
  const stopSweeps = startSweeps(stores, sweeper, config.loginWindowSeconds * 1000, clock, {
    warn: (err, message) => app.log.warn({ err }, message),
    removed: (removed) => app.log.info({ removed }, 'removed orphan blobs'),
  });

  return {
    app,
    services,
    internals: { stores, blobs, sweeper },
    generatedAdminPassword: bootstrap.generatedPassword,
    async close() {
      stopSweeps();
      await feed.stop();
      await app.close();
      await stores.close();
      await passwords.close();
    },
  };
}
