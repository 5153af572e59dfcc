/**
 * The key/value port. Every method takes the owner: isolation lives in these signatures (SQLite
 * has no row-level security). Entries past their `expiresAt` are gone for every method.
 */

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

export interface KvStore {
  get(owner: string, key: string, now: number): Promise<KvEntry | undefined>;
  /**
   * Writes `entry` atomically after `check` has seen the live current entry (undefined when
   * absent or expired); `check` throws to refuse the write. Resolves whether the key was created.
   */
  write(owner: string, entry: KvEntry, check: (current: KvEntry | undefined) => void): Promise<{ created: boolean }>;
  /** Deletes a live key (only if its ETag is `onlyIfEtag`, when given); false when nothing was deleted. */
  delete(owner: string, key: string, now: number, onlyIfEtag?: string): Promise<boolean>;
  /** Live key names in byte order within the scan's range. */
  scan(owner: string, scan: KvScan): Promise<string[]>;
  /** Deletes every key that starts with prefix ('' = all of the owner's keys); returns how many live ones. */
  deletePrefix(owner: string, prefix: string, now: number): Promise<number>;
}
