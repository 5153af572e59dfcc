/**
 * Recently read small KV entries kept in memory, in front of a database that only this process
 * writes (SQLite: SPEC §5 runs one process on it). On the hot path a read from SQLite costs more
 * server CPU than everything else a GET does; a hit costs a map lookup.
 *
 * Exact, not eventually consistent: every write and delete goes through this object, which drops
 * the key before and after the store changes it, and a read fills the cache only if no write or
 * delete began while it was reading (the generation). Expiry is checked on every hit, as the
 * database checks it on every read. Keys deleted behind its back (a user's removal deletes their
 * rows) belong to an owner no token names any more; they age out.
 */
import { isLive } from './ttl.js';
import type { KvEntry, KvScan, KvStore } from './kv-store.js';

interface KvCacheLimits {
  /** Total bytes of values held. */
  bytes: number;
  /** Larger values are not kept. */
  entryBytes: number;
}

const DEFAULT_KV_CACHE_LIMITS: KvCacheLimits = { bytes: 16 * 1024 * 1024, entryBytes: 16 * 1024 };

/** Per-entry bookkeeping counted against `bytes` besides the value (key, fields, map slot). */
const OVERHEAD_BYTES = 200;

export class CachedKvStore implements KvStore {
  /** By owner and key; insertion order is recency (a hit moves its entry to the end). */
  private readonly entries = new Map<string, KvEntry>();
  private bytes = 0;
  private generation = 0;

  constructor(
    private readonly store: KvStore,
    private readonly limits: KvCacheLimits = DEFAULT_KV_CACHE_LIMITS,
  ) {}

  async get(owner: string, key: string, now: number): Promise<KvEntry | undefined> {
    const id = cacheId(owner, key);
    const hit = this.entries.get(id);
    if (hit) {
      if (!isLive(hit.expiresAt, now)) return undefined;
      this.entries.delete(id);
      this.entries.set(id, hit);
      return hit;
    }
    const generation = this.generation;
    const entry = await this.store.get(owner, key, now);
    if (entry && generation === this.generation) this.remember(id, entry);
    return entry;
  }

  write(owner: string, entry: KvEntry, check: (current: KvEntry | undefined) => void): Promise<{ created: boolean }> {
    return this.changing([cacheId(owner, entry.key)], () => this.store.write(owner, entry, check));
  }

  delete(owner: string, key: string, now: number, onlyIfEtag?: string): Promise<boolean> {
    return this.changing([cacheId(owner, key)], () => this.store.delete(owner, key, now, onlyIfEtag));
  }

  scan(owner: string, scan: KvScan): Promise<string[]> {
    return this.store.scan(owner, scan);
  }

  deletePrefix(owner: string, prefix: string, now: number): Promise<number> {
    const start = cacheId(owner, prefix);
    const ids = () => [...this.entries.keys()].filter((id) => id.startsWith(start));
    return this.changing(ids, () => this.store.deletePrefix(owner, prefix, now));
  }

  /** Runs a change with its keys dropped before and after, and reads that overlap it not kept. */
  private async changing<T>(ids: string[] | (() => string[]), change: () => Promise<T>): Promise<T> {
    const drop = () => {
      this.generation++;
      for (const id of typeof ids === 'function' ? ids() : ids) this.forget(id);
    };
    drop();
    try {
      return await change();
    } finally {
      drop();
    }
  }

  private remember(id: string, entry: KvEntry): void {
    if (entry.value.length > this.limits.entryBytes) return;
    this.forget(id);
    this.entries.set(id, entry);
    this.bytes += weight(id, entry);
    for (const [oldest, old] of this.entries) {
      if (this.bytes <= this.limits.bytes) break;
      this.entries.delete(oldest);
      this.bytes -= weight(oldest, old);
    }
  }

  private forget(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    this.bytes -= weight(id, entry);
  }
}

function cacheId(owner: string, key: string): string {
  return `${owner}\u0000${key}`;
}

function weight(id: string, entry: KvEntry): number {
  return entry.value.length + id.length * 2 + OVERHEAD_BYTES;
}
