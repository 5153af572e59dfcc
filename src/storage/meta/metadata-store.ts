/**
 * The MetadataStore port: everything Coffer keeps about users, tokens and key/value data.
 * Services depend on this interface only. Every method that touches a user's data takes the
 * owner as an argument: isolation lives in these signatures, not in the callers' good manners.
 * The rules (who may, what counts as a conflict) live in the services; the store only keeps
 * state and makes each change atomic.
 */

export interface UserRecord {
  id: string;
  username: string;
  passwordHash: string | null;
  admin: boolean;
  disabled: boolean;
  grants: string[];
  /** Bumped to kill every access token issued before (disable, password change). */
  tokenVersion: number;
  createdAt: number;
  updatedAt: number;
}

export type NewUser = Omit<UserRecord, 'tokenVersion' | 'updatedAt'>;

export interface UserPatch {
  passwordHash?: string;
  admin?: boolean;
  disabled?: boolean;
  grants?: string[];
  /** Invalidate every access token the user holds now. */
  bumpTokenVersion?: boolean;
}

/** What a request's access token needs checked against live state, in one read. */
export interface AccessState {
  user: UserRecord;
  jtiRevoked: boolean;
  familyRevoked: boolean;
}

export interface RefreshTokenRecord {
  hash: string;
  familyId: string;
  userId: string;
  expiresAt: number;
  usedAt: number | null;
  familyScope: string;
  familyRevokedAt: number | null;
}

export interface LoginFailures {
  windowStart: number;
  count: number;
}

export type KvKind = 'text' | 'json' | 'raw';

export interface KvEntry {
  key: string;
  kind: KvKind;
  contentType: string | null;
  value: Buffer;
  size: number;
  etag: string;
  expiresAt: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface KvScan {
  /** Keys >= from (or > from when `exclusive`). */
  from: string;
  exclusive?: boolean;
  /** Keys < below, when set. */
  below?: string;
  limit: number;
  now: number;
}

/** One object (parcel) in the index: its path, and the blob that holds its bytes. */
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

/** A public key registered to a user. */
export interface PublicKeyRecord {
  id: string;
  type: string;
  /** SPKI DER, base64. */
  spki: string;
  label: string | null;
  address: string | null;
  createdAt: number;
}

/** A parcel of the older parcel API: its bytes are the owner's object at `objectPath`. */
export interface ParcelRecord {
  /** Uppercase: storage id + SHA-256. */
  id: string;
  owner: string;
  /** The metadata object as uploaded, JSON text. */
  metadata: string;
  createdAt: number;
}

export interface MetadataStore {
  readonly dialect: 'sqlite' | 'postgres';

  createUser(user: NewUser): Promise<UserRecord | undefined>;
  getUserById(id: string): Promise<UserRecord | undefined>;
  getUserByName(username: string): Promise<UserRecord | undefined>;
  listUsers(): Promise<UserRecord[]>;
  countUsers(): Promise<number>;
  /** Admins that are not disabled. */
  countActiveAdmins(): Promise<number>;
  updateUser(id: string, patch: UserPatch, now: number): Promise<UserRecord | undefined>;
  /** Deletes the user with everything they own; false if there was no such user. */
  deleteUser(id: string): Promise<boolean>;

  getAccessState(userId: string, jti: string, familyId: string | undefined): Promise<AccessState | undefined>;
  revokeJti(jti: string, expiresAt: number): Promise<void>;

  createRefreshFamily(family: { id: string; userId: string; scope: string; createdAt: number; expiresAt: number }): Promise<void>;
  addRefreshToken(token: { hash: string; familyId: string; userId: string; expiresAt: number }): Promise<void>;
  getRefreshToken(hash: string): Promise<RefreshTokenRecord | undefined>;
  /** Marks an unused refresh token used; false when it was already used (a replay or a race). */
  markRefreshTokenUsed(hash: string, now: number): Promise<boolean>;
  revokeRefreshFamily(familyId: string, now: number): Promise<void>;
  revokeUserRefreshFamilies(userId: string, now: number): Promise<void>;

  getLoginFailures(name: string): Promise<LoginFailures | undefined>;
  /** Counts one failure; starts a new window when the current one is older than windowMs. */
  recordLoginFailure(name: string, now: number, windowMs: number): Promise<LoginFailures>;
  clearLoginFailures(name: string): Promise<void>;

  kvGet(owner: string, key: string, now: number): Promise<KvEntry | undefined>;
  /**
   * Writes `entry` atomically after `check` has seen the live current entry (undefined when
   * absent or expired); `check` throws to refuse the write. Resolves whether the key was created.
   */
  kvWrite(owner: string, entry: KvEntry, check: (current: KvEntry | undefined) => void): Promise<{ created: boolean }>;
  /** Deletes a live key (only if its ETag is `onlyIfEtag`, when given); false when nothing was deleted. */
  kvDelete(owner: string, key: string, now: number, onlyIfEtag?: string): Promise<boolean>;
  /** Live key names in byte order within the scan's range. */
  kvScan(owner: string, scan: KvScan): Promise<string[]>;
  /** Deletes every key that starts with prefix ('' = all of the owner's keys); returns how many live ones. */
  kvDeletePrefix(owner: string, prefix: string, now: number): Promise<number>;

  objectGet(owner: string, path: string): Promise<ObjectRecord | undefined>;
  /**
   * Points `path` at a new blob, atomically after `check` has seen the current record (which it
   * may refuse by throwing). Resolves the record it replaced, whose blob the caller deletes.
   */
  objectPut(owner: string, record: ObjectRecord, check?: (current: ObjectRecord | undefined) => void): Promise<{ previous: ObjectRecord | undefined }>;
  /** Removes the record and resolves it (its blob is the caller's to delete). */
  objectDelete(owner: string, path: string): Promise<ObjectRecord | undefined>;
  /** Records whose path starts with prefix, after `after`, in byte order. */
  objectList(owner: string, options: { prefix: string; after?: string; limit: number }): Promise<ObjectRecord[]>;
  /** Whether any record points at this blob (orphan sweeps). */
  objectBlobInUse(blobKey: string): Promise<boolean>;

  addPendingUpload(pending: PendingUpload): Promise<void>;
  /** The owner's pending uploads whose path starts with prefix ('' = all), oldest first. */
  pendingUploads(owner: string, prefix: string): Promise<PendingUpload[]>;
  /** Pending uploads of every owner whose URL expired before `now` (for the sweep). */
  expiredPendingUploads(now: number, limit: number): Promise<PendingUpload[]>;
  removePendingUpload(owner: string, blobKey: string): Promise<void>;
  /** Whether a pending upload (of any owner) will land in this blob. */
  pendingBlobExists(blobKey: string): Promise<boolean>;

  /** Registers a key; false when it is registered already (to this owner or another: a key has one holder). */
  addPublicKey(owner: string, key: PublicKeyRecord): Promise<boolean>;
  listPublicKeys(owner: string): Promise<PublicKeyRecord[]>;
  deletePublicKey(owner: string, id: string): Promise<boolean>;
  /** The id of the user who registered the key, if anyone did. */
  publicKeyHolder(id: string): Promise<string | undefined>;

  /**
   * Spends a challenge token's jti; false when it was spent already. Atomic across processes
   * (a primary key), so of many concurrent replays exactly one wins.
   */
  consumeChallenge(jti: string, expiresAt: number): Promise<boolean>;

  parcelGet(id: string): Promise<ParcelRecord | undefined>;
  /**
   * Records a parcel and points its owner's object at its blob, in one transaction; when the id
   * exists already nothing changes and the existing parcel is resolved (the caller drops its blob).
   */
  parcelPut(parcel: ParcelRecord, object: ObjectRecord): Promise<{ existing?: ParcelRecord; previousObject?: ObjectRecord }>;
  /** Removes the owner's parcel and its object `objectPath` together; resolves the object removed. */
  parcelDelete(owner: string, id: string, objectPath: string): Promise<ObjectRecord | undefined>;

  /** Drops expired KV entries, revocations, refresh tokens, spent challenges and stale login failures. */
  sweep(now: number, loginWindowMs: number): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
