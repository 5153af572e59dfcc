import { migrateToLatest, openDatabase } from './database.js';
import { KyselyMetadataStore } from './kysely-metadata-store.js';
import type { MetadataStore } from './metadata-store.js';

export type { MetadataStore } from './metadata-store.js';

/** Opens the metadata store named by the URL and migrates it to the latest schema. */
export async function createMetadataStore(url: string, options: { schema?: string } = {}): Promise<MetadataStore> {
  const open = openDatabase(url, options);
  try {
    await migrateToLatest(open);
  } catch (e) {
    await open.db.destroy();
    throw e;
  }
  return new KyselyMetadataStore(open);
}
