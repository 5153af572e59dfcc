/**
 * What the HTTP routes are given: the services, and nothing below them (no store, no blob
 * store, no keys). Built by the composition root (app.ts).
 */
import type { Registry } from 'prom-client';
import type { AssertionService } from './auth/assertions.js';
import type { AuthService } from './auth/auth-service.js';
import type { TokenService } from './auth/tokens.js';
import type { Config } from './config.js';
import type { KeyService } from './keys/key-service.js';
import type { KvService } from './kv/kv-service.js';
import type { ObjectService } from './objects/object-service.js';
import type { PresignService } from './objects/presign-service.js';
import type { Audit } from './util/audit.js';
import type { HealthService } from './ops/health-service.js';
import type { RateLimits } from './ops/rate-limits.js';
import type { ChallengeService } from './parcels/challenges.js';
import type { ParcelService } from './parcels/parcel-service.js';
import type { UserService } from './users/user-service.js';

export interface Services {
  config: Config;
  auth: AuthService;
  tokens: TokenService;
  assertions: AssertionService;
  users: UserService;
  keys: KeyService;
  kv: KvService;
  objects: ObjectService;
  presign: PresignService;
  parcels: ParcelService;
  challenges: ChallengeService;
  health: HealthService;
  rateLimits: RateLimits;
  audit: Audit;
  metrics: Registry;
}
