/** KvStore on Kysely: the reads and writes of the hot path are compiled once. */
import type { Selectable, Transaction } from 'kysely';
import type { KvEntry, KvScan, KvStore } from '../../../kv/kv-store.js';
import { isLive } from '../../../kv/ttl.js';
import { prefixUpperBound } from '../../../util/prefix.js';
import type { Database, KvTable } from '../schema.js';
import { prepareQuery } from '../prepared-query.js';
import { liveAt, msOrNull, retryOnceOnRace, toKvEntry, type Db } from './rows.js';

const KV_ROW = ['owner', 'key', 'kind', 'content_type', 'value', 'size', 'etag', 'expires_at', 'created_at', 'updated_at'] as const;

function withoutKey({ owner: _owner, key: _key, ...rest }: Selectable<KvTable>) {
  return rest;
}

export class KyselyKvStore implements KvStore {
  private readonly q;

  constructor(private readonly d: Db) {
    const db = d.db;
    this.q = {
      get: prepareQuery(d, ['owner', 'key', 'now'], (p: { owner: string; key: string; now: number }) =>
        db.selectFrom('kv').selectAll().where('owner', '=', p.owner).where('key', '=', p.key).where((eb) => liveAt(eb, p.now)),
      ),
      current: prepareQuery(d, ['owner', 'key'], (p: { owner: string; key: string }) =>
        db
          .selectFrom('kv')
          .selectAll()
          .where('owner', '=', p.owner)
          .where('key', '=', p.key)
          // On PostgreSQL, concurrent writers of one key queue here.
          .$if(d.dialect === 'postgres', (qb) => qb.forUpdate()),
      ),
      update: prepareQuery(d, KV_ROW, (p: Selectable<KvTable>) => db.updateTable('kv').set(withoutKey(p)).where('owner', '=', p.owner).where('key', '=', p.key)),
      insert: prepareQuery(d, KV_ROW, (p: Selectable<KvTable>) => db.insertInto('kv').values(p)),
    };
  }

  async get(owner: string, key: string, now: number): Promise<KvEntry | undefined> {
    const [row] = await this.q.get({ owner, key, now });
    return row && toKvEntry(row);
  }

  write(owner: string, entry: KvEntry, check: (current: KvEntry | undefined) => void): Promise<{ created: boolean }> {
    return retryOnceOnRace(() => this.d.db.transaction().execute((trx) => this.writeIn(trx, owner, entry, check)));
  }

  private async writeIn(trx: Transaction<Database>, owner: string, entry: KvEntry, check: (current: KvEntry | undefined) => void): Promise<{ created: boolean }> {
    const [row] = await this.q.current({ owner, key: entry.key }, trx);
    const current = liveEntry(row, entry.updatedAt);
    check(current);
    const next = kvRow(owner, entry, current);
    await (row ? this.q.update : this.q.insert)(next, trx);
    return { created: current === undefined };
  }

  async delete(owner: string, key: string, now: number, onlyIfEtag?: string): Promise<boolean> {
    const row = await this.d.db
      .deleteFrom('kv')
      .where('owner', '=', owner)
      .where('key', '=', key)
      .$if(onlyIfEtag !== undefined, (qb) => qb.where('etag', '=', onlyIfEtag!))
      .returning('expires_at')
      .executeTakeFirst();
    return row !== undefined && isLive(msOrNull(row.expires_at), now);
  }

  async scan(owner: string, scan: KvScan): Promise<string[]> {
    const rows = await this.d.db
      .selectFrom('kv')
      .select('key')
      .where('owner', '=', owner)
      .where('key', scan.exclusive ? '>' : '>=', scan.from)
      .$if(scan.below !== undefined, (qb) => qb.where('key', '<', scan.below!))
      .where((eb) => liveAt(eb, scan.now))
      .orderBy('key')
      .limit(scan.limit)
      .execute();
    return rows.map((r) => r.key);
  }

  async deletePrefix(owner: string, prefix: string, now: number): Promise<number> {
    const rows = await this.d.db
      .deleteFrom('kv')
      .where('owner', '=', owner)
      .$if(prefix !== '', (qb) => qb.where('key', '>=', prefix).where('key', '<', prefixUpperBound(prefix)))
      .returning('expires_at')
      .execute();
    return rows.filter((r) => isLive(msOrNull(r.expires_at), now)).length;
  }
}

/** The entry a stored row holds at `now`, unless it has expired. */
export function liveEntry(row: Selectable<KvTable> | undefined, now: number): KvEntry | undefined {
  return row && isLive(msOrNull(row.expires_at), now) ? toKvEntry(row) : undefined;
}

/** The row that stores `entry`; a replaced live entry keeps its creation time. */
export function kvRow(owner: string, entry: KvEntry, current: KvEntry | undefined): Selectable<KvTable> {
  return {
    owner,
    key: entry.key,
    kind: entry.kind,
    content_type: entry.contentType,
    value: entry.value,
    size: entry.size,
    etag: entry.etag,
    expires_at: entry.expiresAt,
    created_at: current ? current.createdAt : entry.createdAt,
    updated_at: entry.updatedAt,
  };
}
