/**
 * The users port: accounts and their grants. Deleting a user deletes every row they own in one
 * transaction (what they keep outside the database, their blobs, the caller removes first).
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
  /** Invalidate every access token the user holds now and end their sessions (refresh families), in the same commit. */
  bumpTokenVersion?: boolean;
}

export interface UserStore {
  /** Undefined when the username is taken. */
  create(user: NewUser): Promise<UserRecord | undefined>;
  getById(id: string): Promise<UserRecord | undefined>;
  getByName(username: string): Promise<UserRecord | undefined>;
  /** In username byte order. */
  list(): Promise<UserRecord[]>;
  count(): Promise<number>;
  /** Admins that are not disabled. */
  countActiveAdmins(): Promise<number>;
  update(id: string, patch: UserPatch, now: number): Promise<UserRecord | undefined>;
  /** Deletes the user with every row they own; false if there was no such user. */
  delete(id: string, now: number): Promise<boolean>;
}
