/** ObjectIndex on Kysely. `upsertObject` also serves the parcel store, inside its transaction. */
import { sql, type Selectable, type Transaction } from 'kysely';
import type { ListFrom, ObjectIndex, ObjectRecord, PendingUpload } from '../../../objects/object-index.js';
import { prefixUpperBound } from '../../../util/prefix.js';
import type { Database, Dialect, ObjectsTable } from '../schema.js';
import { prepareQuery } from '../prepared-query.js';
import { retryOnceOnRace, toObject, toPending, type Db } from './rows.js';

type Check = (current: ObjectRecord | undefined) => boolean | void;

/**
 * Points (owner, path) at the record's blob inside `trx` once `check` has seen the current record
 * (it throws to refuse, returns false to leave things as they are); resolves what it replaced.
 */
export async function upsertObject(trx: Transaction<Database>, dialect: Dialect, owner: string, record: ObjectRecord, check: Check = () => {}) {
  const row = await trx
    .selectFrom('objects')
    .selectAll()
    .where('owner', '=', owner)
    .where('path', '=', record.path)
    .$if(dialect === 'postgres', (qb) => qb.forUpdate())
    .executeTakeFirst();
  const previous = row && toObject(row);
  if (check(previous) === false) return { previous, written: false };
  const values = { blob_key: record.blobKey, size: record.size, sha256: record.sha256, content_type: record.contentType, updated_at: record.updatedAt };
  if (previous) {
    await trx.updateTable('objects').set(values).where('owner', '=', owner).where('path', '=', record.path).execute();
  } else {
    await trx.insertInto('objects').values({ ...values, owner, path: record.path, created_at: record.createdAt }).execute();
  }
  return { previous, written: true };
}

export class KyselyObjectIndex implements ObjectIndex {
  /** The read of every object GET, compiled once. */
  private readonly getOne;

  constructor(private readonly d: Db) {
    this.getOne = prepareQuery(d, ['owner', 'path'], (p: { owner: string; path: string }) =>
      d.db.selectFrom('objects').selectAll().where('owner', '=', p.owner).where('path', '=', p.path),
    );
  }

  async get(owner: string, path: string): Promise<ObjectRecord | undefined> {
    const [row] = await this.getOne({ owner, path });
    return row && toObject(row);
  }

  async getWithPending(owner: string, path: string): Promise<{ object: ObjectRecord | undefined; pending: boolean }> {
    const { rows } = await sql<Selectable<ObjectsTable> & { pending: number | boolean }>`
      select o.*, exists(select 1 from pending_uploads p where p.owner = ${owner} and p.path = ${path}) as pending
      from (select 1) as one left join objects o on o.owner = ${owner} and o.path = ${path}`.execute(this.d.db);
    const row = rows[0]!;
    return { object: row.path === null ? undefined : toObject(row), pending: Boolean(row.pending) };
  }

  put(owner: string, record: ObjectRecord, check?: Check): Promise<{ previous: ObjectRecord | undefined; written: boolean }> {
    return retryOnceOnRace(() => this.d.db.transaction().execute((trx) => upsertObject(trx, this.d.dialect, owner, record, check)));
  }

  async delete(owner: string, path: string): Promise<ObjectRecord | undefined> {
    const row = await this.d.db.deleteFrom('objects').where('owner', '=', owner).where('path', '=', path).returningAll().executeTakeFirst();
    return row && toObject(row);
  }

  async list(owner: string, options: { prefix: string; from?: ListFrom; limit: number }): Promise<ObjectRecord[]> {
    const { prefix, from, limit } = options;
    const rows = await this.d.db
      .selectFrom('objects')
      .selectAll()
      .where('owner', '=', owner)
      .$if(prefix !== '', (qb) => qb.where('path', '>=', prefix).where('path', '<', prefixUpperBound(prefix)))
      .$if(from !== undefined, (qb) => qb.where('path', from!.inclusive ? '>=' : '>', from!.path))
      .orderBy('path')
      .limit(limit)
      .execute();
    return rows.map(toObject);
  }

  async deleteSome(owner: string, limit: number): Promise<string[]> {
    const rows = await this.d.db
      .deleteFrom('objects')
      .where('owner', '=', owner)
      .where('path', 'in', (eb) => eb.selectFrom('objects').select('path').where('owner', '=', owner).limit(limit))
      .returning('blob_key')
      .execute();
    return rows.map((r) => r.blob_key);
  }

  async addPending(p: PendingUpload): Promise<void> {
    await this.d.db
      .insertInto('pending_uploads')
      .values({ owner: p.owner, blob_key: p.blobKey, path: p.path, content_type: p.contentType, expires_at: p.expiresAt, created_at: p.createdAt })
      .execute();
  }

  async pending(owner: string, prefix: string): Promise<PendingUpload[]> {
    const rows = await this.d.db
      .selectFrom('pending_uploads')
      .selectAll()
      .where('owner', '=', owner)
      .$if(prefix !== '', (qb) => qb.where('path', '>=', prefix).where('path', '<', prefixUpperBound(prefix)))
      .orderBy('created_at')
      .execute();
    return rows.map(toPending);
  }

  async removePending(owner: string, blobKey: string): Promise<void> {
    await this.d.db.deleteFrom('pending_uploads').where('owner', '=', owner).where('blob_key', '=', blobKey).execute();
  }
}
