/**
 * Frozen: never edit a migration that has shipped; add the next one instead.
 * A public key belongs to at most one user (SPEC §2, as of 2026-12-06): a key registered to several
 * users stays with the one who registered it first, and a unique index keeps it that way.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    delete from public_keys
    where exists (
      select 1 from public_keys as first
      where first.id = public_keys.id
        and (first.created_at < public_keys.created_at or (first.created_at = public_keys.created_at and first.owner < public_keys.owner))
    )`.execute(db);
  await db.schema.createIndex('public_keys_id').on('public_keys').column('id').unique().execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('public_keys_id').execute();
}
