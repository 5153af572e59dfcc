/**
 * The metadata stores, one per area, over one database: SQLite (embedded) or PostgreSQL (many
 * nodes), with the same schema and migrations.
 */
import type { AccessEventLog } from '../../auth/access-events.js';
import type { LoginFailureStore } from '../../auth/login-throttle.js';
import type { SigningKeyStore } from '../../auth/signing-key-store.js';
import type { TokenStore } from '../../auth/token-store.js';
import type { KeyStore } from '../../keys/key-store.js';
import { CachedKvStore } from '../../kv/kv-cache.js';
import type { KvStore } from '../../kv/kv-store.js';
import type { ObjectIndex } from '../../objects/object-index.js';
import type { ObjectSweepStore } from '../../objects/object-sweeper.js';
import type { MaintenanceStore } from '../../ops/maintenance-store.js';
import type { RateLimitStore } from '../../ops/rate-limits.js';
import type { ParcelStore } from '../../parcels/parcel-store.js';
import type { UserStore } from '../../users/user-store.js';
import type { SecretBox } from '../../util/secret-box.js';
import { assertMigrated, migrateToLatest, openDatabase } from './database.js';
import { exclusively, ifAlone } from './locks.js';
import type { Dialect, OpenDatabase } from './schema.js';
import { KyselyAccessEventLog } from './kysely/access-events.js';
import { KyselyKeyStore } from './kysely/keys.js';
import { KyselyKvStore } from './kysely/kv.js';
import { GroupCommitKvStore } from './sqlite/kv-group-commit.js';
import { KyselyLoginFailureStore } from './kysely/login-failures.js';
import { KyselyMaintenanceStore } from './kysely/maintenance.js';
import { KyselyObjectIndex } from './kysely/objects.js';
import { KyselyParcelStore } from './kysely/parcels.js';
import { KyselyRateLimitStore } from './kysely/rate-limits.js';
import { KyselySecretStore, KyselySigningKeyStore } from './kysely/secrets.js';
import { KyselyTokenStore } from './kysely/tokens.js';
import { KyselyUserStore } from './kysely/users.js';

export interface MetadataStores {
  readonly dialect: Dialect;
  users: UserStore;
  tokens: TokenStore;
  loginFailures: LoginFailureStore;
  kv: KvStore;
  objects: ObjectIndex;
  parcels: ParcelStore;
  keys: KeyStore;
  maintenance: MaintenanceStore & ObjectSweepStore;
  accessEvents: AccessEventLog;
  rateLimits: RateLimitStore;
  /** The signing keys and named secrets many nodes share, sealed by `box` (COFFER_SECRET_KEY). */
  sharedSecrets(box: SecretBox): { signingKeys: SigningKeyStore; secrets: KyselySecretStore };
  /** Runs `fn` while no other node runs the same `name` (the others wait). */
  exclusively<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /** Runs `fn` unless another node is running the same `name` right now (undefined then). */
  ifAlone<T>(name: string, fn: () => Promise<T>): Promise<T | undefined>;
  close(): Promise<void>;
}

/** The stores over an open, migrated database (`connection`: how to open the listener's own, on PostgreSQL). */
export function metadataStores(open: OpenDatabase, connection?: { url: string; schema?: string }): MetadataStores {
  const kv = new KyselyKvStore(open);
  return {
    dialect: open.dialect,
    users: new KyselyUserStore(open),
    tokens: new KyselyTokenStore(open),
    loginFailures: new KyselyLoginFailureStore(open),
    // SQLite has one process writing it (SPEC §5): a cache in front of it is exact.
    kv: open.sqlite ? new CachedKvStore(new GroupCommitKvStore(open.sqlite, kv, open.checkpoints)) : kv,
    objects: new KyselyObjectIndex(open),
    parcels: new KyselyParcelStore(open),
    keys: new KyselyKeyStore(open),
    maintenance: new KyselyMaintenanceStore(open),
    accessEvents: new KyselyAccessEventLog(open, connection),
    rateLimits: new KyselyRateLimitStore(open),
    sharedSecrets: (box) => ({ signingKeys: new KyselySigningKeyStore(open, box), secrets: new KyselySecretStore(open, box) }),
    exclusively: (name, fn) => exclusively(open, name, fn),
    ifAlone: (name, fn) => ifAlone(open, name, fn),
    close: () => open.db.destroy(),
  };
}

/**
 * Opens the database named by the URL and migrates it to the latest schema; with `migrate: false`
 * it only checks that the schema is the latest already (commands that read).
 */
export async function createMetadataStores(url: string, options: { schema?: string; migrate?: boolean } = {}): Promise<MetadataStores> {
  const open = openDatabase(url, options);
  try {
    await (options.migrate === false ? assertMigrated(open) : migrateToLatest(open));
  } catch (e) {
    await open.db.destroy();
    throw e;
  }
  return metadataStores(open, { url, ...(options.schema ? { schema: options.schema } : {}) });
}
