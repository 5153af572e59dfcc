/**
 * The object index port: which blob holds each path of each owner, and the uploads presigned
 * straight to the object store that Coffer has not seen arrive yet. Every method takes the owner.
 */

/** One object in the index: its path, and the blob that holds its bytes. */
export interface ObjectRecord {
  path: string;
  blobKey: string;
  size: number;
  sha256: string;
  contentType: string;
  createdAt: number;
  updatedAt: number;
}

/** An upload presigned straight to the object store, not yet seen by Coffer. */
export interface PendingUpload {
  owner: string;
  blobKey: string;
  path: string;
  contentType: string | null;
  expiresAt: number;
  createdAt: number;
}

export interface ObjectIndex {
  get(owner: string, path: string): Promise<ObjectRecord | undefined>;
  /** The record, and whether an upload presigned to that path is pending, in one read. */
  getWithPending(owner: string, path: string): Promise<{ object: ObjectRecord | undefined; pending: boolean }>;
  /**
   * Points `path` at a new blob, atomically after `check` has seen the current record (which it
   * may refuse by throwing, or skip the write by returning false). Resolves the record it
   * replaced (whose blob the caller deletes) and whether the write happened.
   */
  put(owner: string, record: ObjectRecord, check?: (current: ObjectRecord | undefined) => boolean | void): Promise<{ previous: ObjectRecord | undefined; written: boolean }>;
  /** Removes the record and resolves it (its blob is the caller's to delete). */
  delete(owner: string, path: string): Promise<ObjectRecord | undefined>;
  /** Records whose path starts with prefix, from `from` on, in byte order. */
  list(owner: string, options: { prefix: string; from?: ListFrom; limit: number }): Promise<ObjectRecord[]>;
  /** Removes up to `limit` of the owner's records at once and resolves their blob keys (deleting a user). */
  deleteSome(owner: string, limit: number): Promise<string[]>;

  addPending(pending: PendingUpload): Promise<void>;
  /** The owner's pending uploads whose path starts with prefix ('' = all), oldest first. */
  pending(owner: string, prefix: string): Promise<PendingUpload[]>;
  removePending(owner: string, blobKey: string): Promise<void>;
}

/** Where a listing query starts: at `path` (inclusive) or just after it. */
export interface ListFrom {
  path: string;
  inclusive: boolean;
}
