/**
 * The metadata tables as Kysely sees them, written by hand: test/contract pins them to the
 * migrated schema (migrations/).
 */
import type SQLite from 'better-sqlite3';
import type { Generated, Kysely } from 'kysely';
import type { WalCheckpoints } from './sqlite/wal-checkpoints.js';

export type Dialect = 'sqlite' | 'postgres';

/** An open metadata database (openDatabase). */
export interface OpenDatabase {
  db: Kysely<Database>;
  dialect: Dialect;
  /** On SQLite, the connection under Kysely, for the few paths that go around it. */
  sqlite?: SQLite.Database;
  /** On a SQLite file, what checkpoints its log off the event loop (and holds writes back meanwhile). */
  checkpoints?: WalCheckpoints;
}

export interface UsersTable {
  id: string;
  username: string;
  password_hash: string | null;
  admin: number;
  disabled: number;
  grants: string;
  token_version: number;
  created_at: number;
  updated_at: number;
}

export interface RefreshFamiliesTable {
  id: string;
  user_id: string;
  /** The scopes the session was granted at login; refreshes never widen them. */
  scope: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
}

export interface RefreshTokensTable {
  hash: string;
  family_id: string;
  user_id: string;
  expires_at: number;
  used_at: number | null;
}

export interface RevokedTokensTable {
  jti: string;
  expires_at: number;
}

export interface LoginFailuresTable {
  name: string;
  window_start: number;
  count: number;
}

export interface KvTable {
  owner: string;
  key: string;
  kind: string;
  content_type: string | null;
  value: Uint8Array;
  size: number;
  etag: string;
  expires_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface ObjectsTable {
  owner: string;
  path: string;
  blob_key: string;
  size: number;
  sha256: string;
  content_type: string;
  created_at: number;
  updated_at: number;
}

export interface PendingUploadsTable {
  owner: string;
  blob_key: string;
  path: string;
  content_type: string | null;
  expires_at: number;
  created_at: number;
}

export interface PublicKeysTable {
  owner: string;
  id: string;
  type: string;
  /** The key's SPKI DER, base64. */
  spki: string;
  label: string | null;
  address: string | null;
  created_at: number;
}

export interface ParcelsTable {
  /** Storage id + uppercase SHA-256 (72 hex digits, uppercase). */
  id: string;
  owner: string;
  /** The metadata object as uploaded, JSON. */
  metadata: string;
  created_at: number;
}

export interface UsedChallengesTable {
  jti: string;
  expires_at: number;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  /** The private JWK, encrypted with COFFER_SECRET_KEY. */
  private_key: string;
  created_at: number;
  retire_at: number | null;
}

export interface SecretsTable {
  name: string;
  /** Encrypted with COFFER_SECRET_KEY. */
  value: string;
  created_at: number;
}

export interface AccessEventsTable {
  id: Generated<number>;
  /** user, jti or family */
  kind: string;
  subject: string;
  at: number;
}

export interface RateLimitsTable {
  key: string;
  window_start: number;
  count: number;
}

export interface Database {
  users: UsersTable;
  refresh_families: RefreshFamiliesTable;
  refresh_tokens: RefreshTokensTable;
  revoked_tokens: RevokedTokensTable;
  login_failures: LoginFailuresTable;
  kv: KvTable;
  objects: ObjectsTable;
  pending_uploads: PendingUploadsTable;
  public_keys: PublicKeysTable;
  parcels: ParcelsTable;
  used_challenges: UsedChallengesTable;
  signing_keys: SigningKeysTable;
  secrets: SecretsTable;
  access_events: AccessEventsTable;
  rate_limits: RateLimitsTable;
}
