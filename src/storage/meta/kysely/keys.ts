/** KeyStore on Kysely: a unique index on the key id keeps one holder per key. */
import type { KeyStore, PublicKeyRecord } from '../../../keys/key-store.js';
import { isUniqueViolation, toPublicKey, type Db } from './rows.js';

export class KyselyKeyStore implements KeyStore {
  constructor(private readonly d: Db) {}

  async add(owner: string, k: PublicKeyRecord): Promise<boolean> {
    try {
      await this.d.db
        .insertInto('public_keys')
        .values({ owner, id: k.id, type: k.type, spki: k.spki, label: k.label, address: k.address, created_at: k.createdAt })
        .execute();
      return true;
    } catch (e) {
      if (isUniqueViolation(e)) return false;
      throw e;
    }
  }

  async list(owner: string): Promise<PublicKeyRecord[]> {
    const rows = await this.d.db.selectFrom('public_keys').selectAll().where('owner', '=', owner).orderBy('created_at').orderBy('id').execute();
    return rows.map(toPublicKey);
  }

  async delete(owner: string, id: string): Promise<boolean> {
    const result = await this.d.db.deleteFrom('public_keys').where('owner', '=', owner).where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async holderOf(id: string): Promise<string | undefined> {
    const row = await this.d.db.selectFrom('public_keys').select('owner').where('id', '=', id).executeTakeFirst();
    return row?.owner;
  }
}
