/**
 * Frozen: never edit a migration that has shipped; add the next one instead.
 * The older parcel API (SPEC §4): a parcel's id, owner and metadata (its bytes are the owner's
 * object `parcels/{id}`), and the challenge tokens already spent (SPEC §2: each `jti` once).
 */
import { type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('parcels')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('metadata', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('parcels_owner').on('parcels').column('owner').execute();
  await db.schema
    .createTable('used_challenges')
    .addColumn('jti', 'text', (c) => c.primaryKey())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('used_challenges_expires').on('used_challenges').column('expires_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('used_challenges').execute();
  await db.schema.dropTable('parcels').execute();
}
