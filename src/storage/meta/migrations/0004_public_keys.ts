/**
 * Frozen: never edit a migration that has shipped; add the next one instead.
 * Public keys registered by (or for) users: the key-holding clients of SPEC §2.
 */
import { type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('public_keys')
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('spki', 'text', (c) => c.notNull())
    .addColumn('label', 'text')
    .addColumn('address', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('public_keys_pk', ['owner', 'id'])
    .execute();
  await db.schema.createIndex('public_keys_address').on('public_keys').column('address').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('public_keys').execute();
}
