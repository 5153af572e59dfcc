/**
 * Frozen: never edit a migration that has shipped; add the next one instead.
 * The object (parcel) index: one row per (owner, path), pointing at the blob that holds the bytes.
 */
import { PostgresAdapter, sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  await db.schema
    .createTable('objects')
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('path', pg ? sql`text collate "C"` : sql`text`, (c) => c.notNull())
    .addColumn('blob_key', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('content_type', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('objects_pk', ['owner', 'path'])
    .execute();
  await db.schema.createIndex('objects_blob_key').on('objects').column('blob_key').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('objects').execute();
}
