/**
 * MetadataStore on Kysely: the same queries serve SQLite and PostgreSQL.
 */
import { sql, type ExpressionBuilder, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { Database, KvTable, ObjectsTable, OpenDatabase, ParcelsTable, PendingUploadsTable, PublicKeysTable, UsersTable } from './database.js';
import { prefixUpperBound } from '../../util/prefix.js';
import { prepareQuery } from './prepared-query.js';
import type {
  AccessState,
  KvEntry,
  KvKind,
  KvScan,
  LoginFailures,
  MetadataStore,
  NewUser,
  ObjectRecord,
  PendingUpload,
  ParcelRecord,
  PublicKeyRecord,
  RefreshTokenRecord,
  UserPatch,
  UserRecord,
} from './metadata-store.js';

function toUser(row: Selectable<UsersTable>): UserRecord {
  return {
    id: row.id,
    username: row.username,
    passwordHash: row.password_hash,
    admin: row.admin === 1,
    disabled: row.disabled === 1,
    grants: row.grants === '' ? [] : row.grants.split(' '),
    tokenVersion: Number(row.token_version),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function toKvEntry(row: Selectable<KvTable>): KvEntry {
  return {
    key: row.key,
    kind: row.kind as KvKind,
    contentType: row.content_type,
    value: Buffer.isBuffer(row.value) ? row.value : Buffer.from(row.value),
    size: Number(row.size),
    etag: row.etag,
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

const KV_ROW = ['owner', 'key', 'kind', 'content_type', 'value', 'size', 'etag', 'expires_at', 'created_at', 'updated_at'] as const;

function withoutKey({ owner: _owner, key: _key, ...rest }: Selectable<KvTable>) {
  return rest;
}

function toObject(row: Selectable<ObjectsTable>): ObjectRecord {
  return {
    path: row.path,
    blobKey: row.blob_key,
    size: Number(row.size),
    sha256: row.sha256,
    contentType: row.content_type,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function toPublicKey(row: Selectable<PublicKeysTable>): PublicKeyRecord {
  return { id: row.id, type: row.type, spki: row.spki, label: row.label, address: row.address, createdAt: Number(row.created_at) };
}

function toParcel(row: Selectable<ParcelsTable>): ParcelRecord {
  return { id: row.id, owner: row.owner, metadata: row.metadata, createdAt: Number(row.created_at) };
}

function toPending(row: Selectable<PendingUploadsTable>): PendingUpload {
  return {
    owner: row.owner,
    blobKey: row.blob_key,
    path: row.path,
    contentType: row.content_type,
    expiresAt: Number(row.expires_at),
    createdAt: Number(row.created_at),
  };
}

/** A KV row that has not expired at `now`. */
function liveKv(eb: ExpressionBuilder<Database, 'kv'>, now: number) {
  return eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]);
}

/** SQLite and PostgreSQL report a duplicate key differently. */
export function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

export class KyselyMetadataStore implements MetadataStore {
  readonly dialect: 'sqlite' | 'postgres';
  private readonly db: Kysely<Database>;
  /** The queries every request runs, compiled once. */
  private readonly hot;

  constructor(open: OpenDatabase) {
    this.db = open.db;
    this.dialect = open.dialect;
    this.hot = this.prepareHotQueries();
  }

  private prepareHotQueries() {
    const db = this.db;
    return {
      accessState: prepareQuery(db, ['userId', 'jti', 'familyId'], (p: { userId: string; jti: string; familyId: string }) =>
        db
          .selectFrom('users as u')
          .selectAll('u')
          .select((eb) => [
            eb.exists(eb.selectFrom('revoked_tokens').select('jti').where('jti', '=', p.jti)).as('jti_revoked'),
            eb
              .exists(eb.selectFrom('refresh_families').select('id').where('id', '=', p.familyId).where('revoked_at', 'is not', null))
              .as('family_revoked'),
          ])
          .where('u.id', '=', p.userId),
      ),
      kvGet: prepareQuery(db, ['owner', 'key', 'now'], (p: { owner: string; key: string; now: number }) =>
        db
          .selectFrom('kv')
          .selectAll()
          .where('owner', '=', p.owner)
          .where('key', '=', p.key)
          .where((eb) => liveKv(eb, p.now)),
      ),
      kvCurrent: prepareQuery(db, ['owner', 'key'], (p: { owner: string; key: string }) =>
        db
          .selectFrom('kv')
          .selectAll()
          .where('owner', '=', p.owner)
          .where('key', '=', p.key)
          // On PostgreSQL, concurrent writers of one key queue here.
          .$if(this.dialect === 'postgres', (qb) => qb.forUpdate()),
      ),
      kvUpdate: prepareQuery(db, KV_ROW, (p: Selectable<KvTable>) =>
        db.updateTable('kv').set(withoutKey(p)).where('owner', '=', p.owner).where('key', '=', p.key),
      ),
      kvInsert: prepareQuery(db, KV_ROW, (p: Selectable<KvTable>) => db.insertInto('kv').values(p)),
    };
  }

  async createUser(user: NewUser): Promise<UserRecord | undefined> {
    const row = {
      id: user.id,
      username: user.username,
      password_hash: user.passwordHash,
      admin: user.admin ? 1 : 0,
      disabled: user.disabled ? 1 : 0,
      grants: user.grants.join(' '),
      token_version: 0,
      created_at: user.createdAt,
      updated_at: user.createdAt,
    };
    try {
      await this.db.insertInto('users').values(row).execute();
    } catch (e) {
      if (isUniqueViolation(e)) return undefined;
      throw e;
    }
    return toUser(row);
  }

  async getUserById(id: string): Promise<UserRecord | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toUser(row);
  }

  async getUserByName(username: string): Promise<UserRecord | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
    return row && toUser(row);
  }

  async listUsers(): Promise<UserRecord[]> {
    const rows = await this.db.selectFrom('users').selectAll().orderBy('username').execute();
    return rows.map(toUser);
  }

  async countUsers(): Promise<number> {
    const row = await this.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async countActiveAdmins(): Promise<number> {
    const row = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('admin', '=', 1)
      .where('disabled', '=', 0)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async updateUser(id: string, patch: UserPatch, now: number): Promise<UserRecord | undefined> {
    const set: Record<string, unknown> = { updated_at: now };
    if (patch.passwordHash !== undefined) set.password_hash = patch.passwordHash;
    if (patch.admin !== undefined) set.admin = patch.admin ? 1 : 0;
    if (patch.disabled !== undefined) set.disabled = patch.disabled ? 1 : 0;
    if (patch.grants !== undefined) set.grants = patch.grants.join(' ');
    await this.db
      .updateTable('users')
      .set(set)
      .$if(patch.bumpTokenVersion === true, (qb) => qb.set((eb) => ({ token_version: eb('token_version', '+', 1) })))
      .where('id', '=', id)
      .execute();
    return this.getUserById(id);
  }

  async deleteUser(id: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('kv').where('owner', '=', id).execute();
      await trx.deleteFrom('objects').where('owner', '=', id).execute();
      await trx.deleteFrom('pending_uploads').where('owner', '=', id).execute();
      await trx.deleteFrom('public_keys').where('owner', '=', id).execute();
      await trx.deleteFrom('parcels').where('owner', '=', id).execute();
      await trx.deleteFrom('refresh_tokens').where('user_id', '=', id).execute();
      await trx.deleteFrom('refresh_families').where('user_id', '=', id).execute();
      const result = await trx.deleteFrom('users').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    });
  }

  async getAccessState(userId: string, jti: string, familyId: string | undefined): Promise<AccessState | undefined> {
    const [row] = await this.hot.accessState({ userId, jti, familyId: familyId ?? '' });
    if (!row) return undefined;
    return { user: toUser(row), jtiRevoked: Boolean(row.jti_revoked), familyRevoked: Boolean(row.family_revoked) };
  }

  async revokeJti(jti: string, expiresAt: number): Promise<void> {
    await this.db
      .insertInto('revoked_tokens')
      .values({ jti, expires_at: expiresAt })
      .onConflict((oc) => oc.column('jti').doNothing())
      .execute();
  }

  async createRefreshFamily(f: { id: string; userId: string; scope: string; createdAt: number; expiresAt: number }): Promise<void> {
    await this.db
      .insertInto('refresh_families')
      .values({ id: f.id, user_id: f.userId, scope: f.scope, created_at: f.createdAt, expires_at: f.expiresAt, revoked_at: null })
      .execute();
  }

  async addRefreshToken(t: { hash: string; familyId: string; userId: string; expiresAt: number }): Promise<void> {
    await this.db
      .insertInto('refresh_tokens')
      .values({ hash: t.hash, family_id: t.familyId, user_id: t.userId, expires_at: t.expiresAt, used_at: null })
      .execute();
  }

  async getRefreshToken(hash: string): Promise<RefreshTokenRecord | undefined> {
    const row = await this.db
      .selectFrom('refresh_tokens as t')
      .innerJoin('refresh_families as f', 'f.id', 't.family_id')
      .select(['t.hash', 't.family_id', 't.user_id', 't.expires_at', 't.used_at', 'f.scope', 'f.revoked_at'])
      .where('t.hash', '=', hash)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      hash: row.hash,
      familyId: row.family_id,
      userId: row.user_id,
      expiresAt: Number(row.expires_at),
      usedAt: row.used_at === null ? null : Number(row.used_at),
      familyScope: row.scope,
      familyRevokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
    };
  }

  async markRefreshTokenUsed(hash: string, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('refresh_tokens')
      .set({ used_at: now })
      .where('hash', '=', hash)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async revokeRefreshFamily(familyId: string, now: number): Promise<void> {
    await this.db
      .updateTable('refresh_families')
      .set({ revoked_at: now })
      .where('id', '=', familyId)
      .where('revoked_at', 'is', null)
      .execute();
  }

  async revokeUserRefreshFamilies(userId: string, now: number): Promise<void> {
    await this.db
      .updateTable('refresh_families')
      .set({ revoked_at: now })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .execute();
  }

  async getLoginFailures(name: string): Promise<LoginFailures | undefined> {
    const row = await this.db.selectFrom('login_failures').selectAll().where('name', '=', name).executeTakeFirst();
    return row && { windowStart: Number(row.window_start), count: Number(row.count) };
  }

  async recordLoginFailure(name: string, now: number, windowMs: number): Promise<LoginFailures> {
    const stale = sql<boolean>`login_failures.window_start <= ${now - windowMs}`;
    const row = await this.db
      .insertInto('login_failures')
      .values({ name, window_start: now, count: 1 })
      .onConflict((oc) =>
        oc.column('name').doUpdateSet({
          window_start: sql`case when ${stale} then ${now} else login_failures.window_start end`,
          count: sql`case when ${stale} then 1 else login_failures.count + 1 end`,
        }),
      )
      .returning(['window_start', 'count'])
      .executeTakeFirstOrThrow();
    return { windowStart: Number(row.window_start), count: Number(row.count) };
  }

  async clearLoginFailures(name: string): Promise<void> {
    await this.db.deleteFrom('login_failures').where('name', '=', name).execute();
  }

  async kvGet(owner: string, key: string, now: number): Promise<KvEntry | undefined> {
    const [row] = await this.hot.kvGet({ owner, key, now });
    return row && toKvEntry(row);
  }

  async kvWrite(owner: string, entry: KvEntry, check: (current: KvEntry | undefined) => void): Promise<{ created: boolean }> {
    // Two writers creating the same key at once on PostgreSQL: the loser retries and sees the winner.
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.db.transaction().execute((trx) => this.kvWriteIn(trx, owner, entry, check));
      } catch (e) {
        if (attempt === 0 && isUniqueViolation(e)) continue;
        throw e;
      }
    }
  }

  private async kvWriteIn(
    trx: Transaction<Database>,
    owner: string,
    entry: KvEntry,
    check: (current: KvEntry | undefined) => void,
  ): Promise<{ created: boolean }> {
    const [row] = await this.hot.kvCurrent({ owner, key: entry.key }, trx);
    const current = row && (row.expires_at === null || Number(row.expires_at) > entry.updatedAt) ? toKvEntry(row) : undefined;
    check(current);
    const next: Selectable<KvTable> = {
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
    await (row ? this.hot.kvUpdate : this.hot.kvInsert)(next, trx);
    return { created: current === undefined };
  }

  async kvDelete(owner: string, key: string, now: number, onlyIfEtag?: string): Promise<boolean> {
    const row = await this.db
      .deleteFrom('kv')
      .where('owner', '=', owner)
      .where('key', '=', key)
      .$if(onlyIfEtag !== undefined, (qb) => qb.where('etag', '=', onlyIfEtag!))
      .returning('expires_at')
      .executeTakeFirst();
    return row !== undefined && (row.expires_at === null || Number(row.expires_at) > now);
  }

  async kvScan(owner: string, scan: KvScan): Promise<string[]> {
    const rows = await this.db
      .selectFrom('kv')
      .select('key')
      .where('owner', '=', owner)
      .where('key', scan.exclusive ? '>' : '>=', scan.from)
      .$if(scan.below !== undefined, (qb) => qb.where('key', '<', scan.below!))
      .where((eb) => liveKv(eb, scan.now))
      .orderBy('key')
      .limit(scan.limit)
      .execute();
    return rows.map((r) => r.key);
  }

  async kvDeletePrefix(owner: string, prefix: string, now: number): Promise<number> {
    const rows = await this.db
      .deleteFrom('kv')
      .where('owner', '=', owner)
      .$if(prefix !== '', (qb) => qb.where('key', '>=', prefix).where('key', '<', prefixUpperBound(prefix)))
      .returning('expires_at')
      .execute();
    return rows.filter((r) => r.expires_at === null || Number(r.expires_at) > now).length;
  }

  async objectGet(owner: string, path: string): Promise<ObjectRecord | undefined> {
    const row = await this.db.selectFrom('objects').selectAll().where('owner', '=', owner).where('path', '=', path).executeTakeFirst();
    return row && toObject(row);
  }

  async objectPut(
    owner: string,
    record: ObjectRecord,
    check: (current: ObjectRecord | undefined) => void = () => {},
  ): Promise<{ previous: ObjectRecord | undefined }> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.db.transaction().execute(async (trx) => ({ previous: await this.upsertObject(trx, owner, record, check) }));
      } catch (e) {
        if (attempt === 0 && isUniqueViolation(e)) continue;
        throw e;
      }
    }
  }

  /** Points (owner, path) at the record's blob inside `trx`, after `check`; resolves what it replaced. */
  private async upsertObject(
    trx: Transaction<Database>,
    owner: string,
    record: ObjectRecord,
    check: (current: ObjectRecord | undefined) => void = () => {},
  ): Promise<ObjectRecord | undefined> {
    const row = await trx
      .selectFrom('objects')
      .selectAll()
      .where('owner', '=', owner)
      .where('path', '=', record.path)
      .$if(this.dialect === 'postgres', (qb) => qb.forUpdate())
      .executeTakeFirst();
    const previous = row && toObject(row);
    check(previous);
    const values = { blob_key: record.blobKey, size: record.size, sha256: record.sha256, content_type: record.contentType, updated_at: record.updatedAt };
    if (previous) {
      await trx.updateTable('objects').set(values).where('owner', '=', owner).where('path', '=', record.path).execute();
    } else {
      await trx.insertInto('objects').values({ ...values, owner, path: record.path, created_at: record.createdAt }).execute();
    }
    return previous;
  }

  async objectDelete(owner: string, path: string): Promise<ObjectRecord | undefined> {
    const row = await this.db.deleteFrom('objects').where('owner', '=', owner).where('path', '=', path).returningAll().executeTakeFirst();
    return row && toObject(row);
  }

  async objectList(owner: string, options: { prefix: string; after?: string; limit: number }): Promise<ObjectRecord[]> {
    const { prefix, after, limit } = options;
    const rows = await this.db
      .selectFrom('objects')
      .selectAll()
      .where('owner', '=', owner)
      .$if(prefix !== '', (qb) => qb.where('path', '>=', prefix).where('path', '<', prefixUpperBound(prefix)))
      .$if(after !== undefined, (qb) => qb.where('path', '>', after!))
      .orderBy('path')
      .limit(limit)
      .execute();
    return rows.map(toObject);
  }

  async objectBlobInUse(blobKey: string): Promise<boolean> {
    const row = await this.db.selectFrom('objects').select('blob_key').where('blob_key', '=', blobKey).executeTakeFirst();
    return row !== undefined;
  }

  async addPendingUpload(p: PendingUpload): Promise<void> {
    await this.db
      .insertInto('pending_uploads')
      .values({ owner: p.owner, blob_key: p.blobKey, path: p.path, content_type: p.contentType, expires_at: p.expiresAt, created_at: p.createdAt })
      .execute();
  }

  async pendingUploads(owner: string, prefix: string): Promise<PendingUpload[]> {
    const rows = await this.db
      .selectFrom('pending_uploads')
      .selectAll()
      .where('owner', '=', owner)
      .$if(prefix !== '', (qb) => qb.where('path', '>=', prefix).where('path', '<', prefixUpperBound(prefix)))
      .orderBy('created_at')
      .execute();
    return rows.map(toPending);
  }

  async expiredPendingUploads(now: number, limit: number): Promise<PendingUpload[]> {
    const rows = await this.db.selectFrom('pending_uploads').selectAll().where('expires_at', '<=', now).orderBy('expires_at').limit(limit).execute();
    return rows.map(toPending);
  }

  async pendingBlobExists(blobKey: string): Promise<boolean> {
    const row = await this.db.selectFrom('pending_uploads').select('blob_key').where('blob_key', '=', blobKey).executeTakeFirst();
    return row !== undefined;
  }

  async removePendingUpload(owner: string, blobKey: string): Promise<void> {
    await this.db.deleteFrom('pending_uploads').where('owner', '=', owner).where('blob_key', '=', blobKey).execute();
  }

  async addPublicKey(owner: string, k: PublicKeyRecord): Promise<boolean> {
    try {
      await this.db
        .insertInto('public_keys')
        .values({ owner, id: k.id, type: k.type, spki: k.spki, label: k.label, address: k.address, created_at: k.createdAt })
        .execute();
      return true;
    } catch (e) {
      if (isUniqueViolation(e)) return false;
      throw e;
    }
  }

  async listPublicKeys(owner: string): Promise<PublicKeyRecord[]> {
    const rows = await this.db.selectFrom('public_keys').selectAll().where('owner', '=', owner).orderBy('created_at').orderBy('id').execute();
    return rows.map(toPublicKey);
  }

  async deletePublicKey(owner: string, id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('public_keys').where('owner', '=', owner).where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async publicKeyHolder(id: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('public_keys').select('owner').where('id', '=', id).executeTakeFirst();
    return row?.owner;
  }

  async consumeChallenge(jti: string, expiresAt: number): Promise<boolean> {
    const result = await this.db
      .insertInto('used_challenges')
      .values({ jti, expires_at: expiresAt })
      .onConflict((oc) => oc.column('jti').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async parcelGet(id: string): Promise<ParcelRecord | undefined> {
    const row = await this.db.selectFrom('parcels').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toParcel(row);
  }

  async parcelPut(parcel: ParcelRecord, object: ObjectRecord): Promise<{ existing?: ParcelRecord; previousObject?: ObjectRecord }> {
    try {
      return await this.db.transaction().execute(async (trx) => {
        const found = await trx.selectFrom('parcels').selectAll().where('id', '=', parcel.id).executeTakeFirst();
        if (found) return { existing: toParcel(found) };
        await trx.insertInto('parcels').values({ id: parcel.id, owner: parcel.owner, metadata: parcel.metadata, created_at: parcel.createdAt }).execute();
        const previousObject = await this.upsertObject(trx, parcel.owner, object);
        return previousObject ? { previousObject } : {};
      });
    } catch (e) {
      // Another upload of the same bytes committed first: that one stands.
      const existing = isUniqueViolation(e) ? await this.parcelGet(parcel.id) : undefined;
      if (existing) return { existing };
      throw e;
    }
  }

  async parcelDelete(owner: string, id: string, objectPath: string): Promise<ObjectRecord | undefined> {
    return this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('parcels').where('owner', '=', owner).where('id', '=', id).execute();
      const row = await trx.deleteFrom('objects').where('owner', '=', owner).where('path', '=', objectPath).returningAll().executeTakeFirst();
      return row && toObject(row);
    });
  }

  async sweep(now: number, loginWindowMs: number): Promise<void> {
    await this.db.deleteFrom('used_challenges').where('expires_at', '<=', now).execute();
    await this.db.deleteFrom('kv').where('expires_at', '<=', now).execute();
    await this.db.deleteFrom('revoked_tokens').where('expires_at', '<=', now).execute();
    await this.db.deleteFrom('refresh_tokens').where('expires_at', '<=', now).execute();
    await this.db.deleteFrom('refresh_families').where('expires_at', '<=', now).execute();
    await this.db.deleteFrom('login_failures').where('window_start', '<=', now - loginWindowMs).execute();
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
