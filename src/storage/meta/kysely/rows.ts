/**
 * What every Kysely store shares: the database handle, the row mappers (rows to the records the
 * ports speak), and the retry of a write that lost a race to create the same row.
 */
import type { ExpressionBuilder, Selectable } from 'kysely';
import type { Database, KvTable, OpenDatabase, ObjectsTable, ParcelsTable, PendingUploadsTable, PublicKeysTable, UsersTable } from '../schema.js';
import type { PublicKeyRecord } from '../../../keys/key-store.js';
import type { KvEntry, KvKind } from '../../../kv/kv-store.js';
import type { ObjectRecord, PendingUpload } from '../../../objects/object-index.js';
import type { ParcelRecord } from '../../../parcels/parcel-store.js';
import type { UserRecord } from '../../../users/user-store.js';

export type Db = OpenDatabase;

export function toUser(row: Selectable<UsersTable>): UserRecord {
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

export function toKvEntry(row: Selectable<KvTable>): KvEntry {
  return {
    key: row.key,
    kind: row.kind as KvKind,
    contentType: row.content_type,
    value: Buffer.isBuffer(row.value) ? row.value : Buffer.from(row.value),
    size: Number(row.size),
    etag: row.etag,
    expiresAt: msOrNull(row.expires_at),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export function toObject(row: Selectable<ObjectsTable>): ObjectRecord {
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

export function toPending(row: Selectable<PendingUploadsTable>): PendingUpload {
  return {
    owner: row.owner,
    blobKey: row.blob_key,
    path: row.path,
    contentType: row.content_type,
    expiresAt: Number(row.expires_at),
    createdAt: Number(row.created_at),
  };
}

export function toPublicKey(row: Selectable<PublicKeysTable>): PublicKeyRecord {
  return { id: row.id, type: row.type, spki: row.spki, label: row.label, address: row.address, createdAt: Number(row.created_at) };
}

export function toParcel(row: Selectable<ParcelsTable>): ParcelRecord {
  return { id: row.id, owner: row.owner, metadata: row.metadata, createdAt: Number(row.created_at) };
}

/** A nullable epoch-milliseconds column (int8 may come back as a string or a bigint). */
export function msOrNull(value: number | string | bigint | null): number | null {
  return value === null ? null : Number(value);
}

/** A row that has not expired at `now` (KV entries with a TTL). */
export function liveAt(eb: ExpressionBuilder<Database, 'kv'>, now: number) {
  return eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]);
}

/** SQLite and PostgreSQL report a duplicate key differently. */
export function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/**
 * Runs a write once more when it lost a race to create the same row (two writers inserting one
 * new key at once on PostgreSQL): the second run sees the winner's row.
 */
export async function retryOnceOnRace<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (e) {
    if (!isUniqueViolation(e)) throw e;
    return write();
  }
}
