/**
 * The bytes of small blobs, kept in memory by blob key. A blob key names one version's bytes for
 * good (every write makes a new key, SPEC §4's replacement never rewrites a blob), so a kept copy
 * is never stale and needs no invalidation, on one node or many; a deleted blob is no longer
 * asked for and ages out. A 4 KiB GET spent more of its server CPU opening and reading the file
 * than on everything else.
 */
export class SmallBlobCache {
  /** Insertion order is recency: a hit moves its entry to the end. */
  private readonly entries = new Map<string, Buffer>();
  private bytes = 0;

  constructor(
    /** Total bytes kept. */
    private readonly limitBytes = 16 * 1024 * 1024,
    /** Larger blobs are not kept. */
    readonly entryBytes = 64 * 1024,
  ) {}

  get(key: string): Buffer | undefined {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  set(key: string, bytes: Buffer): void {
    if (bytes.length > this.entryBytes || this.entries.has(key)) return;
    this.entries.set(key, bytes);
    this.bytes += bytes.length;
    for (const [oldest, old] of this.entries) {
      if (this.bytes <= this.limitBytes) break;
      this.entries.delete(oldest);
      this.bytes -= old.length;
    }
  }
}
