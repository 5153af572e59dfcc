/**
 * The metadata stores, one per area, over one database: SQLite (embedded) or PostgreSQL (many
 * nodes), with the same schema and migrations.
 */
import type { LoginFailureStore } from '../../auth/login-throttle.js';
import type { TokenStore } from '../../auth/token-store.js';
import type { KeyStore } from '../../keys/key-store.js';
import type { KvStore } from '../../kv/kv-store.js';
import type { ObjectIndex } from '../../objects/object-index.js';
import type { ObjectSweepStore } from '../../objects/object-sweeper.js';
import type { MaintenanceStore } from '../../ops/maintenance-store.js';
import type { ParcelStore } from '../../parcels/parcel-store.js';
import type { UserStore } from '../../users/user-store.js';
import { migrateToLatest, openDatabase, type Dialect, type OpenDatabase } from './database.js';
import { KyselyKeyStore } from './kysely/keys.js';
import { KyselyKvStore } from './kysely/kv.js';
import { KyselyLoginFailureStore } from './kysely/login-failures.js';
import { KyselyMaintenanceStore } from './kysely/maintenance.js';
import { KyselyObjectIndex } from './kysely/objects.js';
import { KyselyParcelStore } from './kysely/parcels.js';
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
  close(): Promise<void>;
}

/** The stores over an open, migrated database. */
export function metadataStores(open: OpenDatabase): MetadataStores {
  const d = { db: open.db, dialect: open.dialect };
  return {
    dialect: open.dialect,
    users: new KyselyUserStore(d),
    tokens: new KyselyTokenStore(d),
    loginFailures: new KyselyLoginFailureStore(d),
    kv: new KyselyKvStore(d),
    objects: new KyselyObjectIndex(d),
    parcels: new KyselyParcelStore(d),
    keys: new KyselyKeyStore(d),
    maintenance: new KyselyMaintenanceStore(d),
    close: () => open.db.destroy(),
  };
}

/** Opens the database named by the URL and migrates it to the latest schema. */
export async function createMetadataStores(url: string, options: { schema?: string } = {}): Promise<MetadataStores> {
  const open = openDatabase(url, options);
  try {
    await migrateToLatest(open);
  } catch (e) {
    await open.db.destroy();
    throw e;
  }
  return metadataStores(open);
}
