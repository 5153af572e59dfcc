/** ParcelStore on Kysely: a parcel and its object are written and removed in one transaction. */
import type { ObjectRecord } from '../../../objects/object-index.js';
import type { ParcelRecord, ParcelStore } from '../../../parcels/parcel-store.js';
import { upsertObject } from './objects.js';
import { isUniqueViolation, toObject, toParcel, type Db } from './rows.js';

export class KyselyParcelStore implements ParcelStore {
  constructor(private readonly d: Db) {}

  async find(id: string): Promise<ParcelRecord | undefined> {
    const row = await this.d.db.selectFrom('parcels').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toParcel(row);
  }

  async put(owner: string, parcel: Omit<ParcelRecord, 'owner'>, object: ObjectRecord): Promise<{ existing?: ParcelRecord; previousObject?: ObjectRecord }> {
    try {
      return await this.d.db.transaction().execute(async (trx) => {
        const found = await trx.selectFrom('parcels').selectAll().where('id', '=', parcel.id).executeTakeFirst();
        if (found) return { existing: toParcel(found) };
        await trx.insertInto('parcels').values({ id: parcel.id, owner, metadata: parcel.metadata, created_at: parcel.createdAt }).execute();
        const { previous } = await upsertObject(trx, this.d.dialect, owner, object);
        return previous ? { previousObject: previous } : {};
      });
    } catch (e) {
      // Another upload of the same bytes committed first: that one stands.
      const existing = isUniqueViolation(e) ? await this.find(parcel.id) : undefined;
      if (existing) return { existing };
      throw e;
    }
  }

  async delete(owner: string, id: string, objectPath: string): Promise<ObjectRecord | undefined> {
    return this.d.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('parcels').where('owner', '=', owner).where('id', '=', id).execute();
      const row = await trx.deleteFrom('objects').where('owner', '=', owner).where('path', '=', objectPath).returningAll().executeTakeFirst();
      return row && toObject(row);
    });
  }
}
