/**
 * Frozen: never edit a migration that has shipped; add the next one instead.
 * Uploads presigned straight to S3: Coffer does not see them happen, so it remembers the path and
 * blob it signed for, and indexes the object when it is first read, listed or swept.
 */
import { PostgresAdapter, sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  await db.schema
    .createTable('pending_uploads')
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('blob_key', 'text', (c) => c.notNull())
    .addColumn('path', pg ? sql`text collate "C"` : sql`text`, (c) => c.notNull())
    .addColumn('content_type', 'text')
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('pending_uploads_pk', ['owner', 'blob_key'])
    .execute();
  await db.schema.createIndex('pending_uploads_expires').on('pending_uploads').column('expires_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('pending_uploads').execute();
}
