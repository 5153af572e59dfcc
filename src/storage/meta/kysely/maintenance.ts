/** MaintenanceStore and ObjectSweepStore on Kysely: the sweeps and checks that span every owner. */
import { sql } from 'kysely';
import type { PendingUpload } from '../../../objects/object-index.js';
import type { ObjectSweepStore } from '../../../objects/object-sweeper.js';
import type { MaintenanceStore } from '../../../ops/maintenance-store.js';
import { toPending, type Db } from './rows.js';

export class KyselyMaintenanceStore implements MaintenanceStore, ObjectSweepStore {
  constructor(private readonly d: Db) {}

  async sweep(now: number, loginWindowMs: number): Promise<void> {
    const db = this.d.db;
    await db.deleteFrom('used_challenges').where('expires_at', '<=', now).execute();
    await db.deleteFrom('kv').where('expires_at', '<=', now).execute();
    await db.deleteFrom('revoked_tokens').where('expires_at', '<=', now).execute();
    await db.deleteFrom('refresh_tokens').where('expires_at', '<=', now).execute();
    await db.deleteFrom('refresh_families').where('expires_at', '<=', now).execute();
    await db.deleteFrom('login_failures').where('window_start', '<=', now - loginWindowMs).execute();
    // Every node reads the access-event log within a second; an hour of it is plenty.
    await db.deleteFrom('access_events').where('at', '<=', now - 3_600_000).execute();
    await db.deleteFrom('rate_limits').where('window_start', '<=', now - 86_400_000).execute();
  }

  async expiredPendingUploads(now: number, limit: number): Promise<PendingUpload[]> {
    const rows = await this.d.db.selectFrom('pending_uploads').selectAll().where('expires_at', '<=', now).orderBy('expires_at').limit(limit).execute();
    return rows.map(toPending);
  }

  async blobReferenced(blobKey: string): Promise<boolean> {
    const row = await this.d.db
      .selectNoFrom((eb) => [
        eb.exists(eb.selectFrom('objects').select('blob_key').where('blob_key', '=', blobKey)).as('indexed'),
        eb.exists(eb.selectFrom('pending_uploads').select('blob_key').where('blob_key', '=', blobKey)).as('pending'),
      ])
      .executeTakeFirstOrThrow();
    return Boolean(row.indexed) || Boolean(row.pending);
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.d.db);
  }
}
