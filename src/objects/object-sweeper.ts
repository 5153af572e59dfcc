/**
 * The object sweeps, across every owner: presigned uploads whose URL has expired are settled
 * (indexed if their bytes arrived, forgotten if not), and blobs nothing points at are deleted.
 */
import type { BlobStore } from '../objects/blob-store.js';
import type { Clock } from '../util/clock.js';
import type { PendingUpload } from './object-index.js';
import type { ObjectService } from './object-service.js';

/** The sweeps' port: what they read across every owner. */
export interface ObjectSweepStore {
  /** Pending uploads of every owner whose URL expired before `now`. */
  expiredPendingUploads(now: number, limit: number): Promise<PendingUpload[]>;
  /** Whether any index entry or pending upload points at this blob. */
  blobReferenced(blobKey: string): Promise<boolean>;
}

export class ObjectSweeper {
  constructor(
    private readonly maintenance: ObjectSweepStore,
    private readonly blobs: BlobStore,
    private readonly objects: ObjectService,
    private readonly clock: Clock,
  ) {}

  /** Settles every pending upload whose URL has expired. Only stores that presign (S3) have any. */
  async sweepPending(): Promise<void> {
    if (!this.blobs.presign) return;
    for (const pending of await this.maintenance.expiredPendingUploads(this.clock.now(), 100)) await this.objects.settle(pending);
  }

  /**
   * Deletes blobs no index entry and no pending upload points at, once they are older than
   * `graceMs` (an upload commits its blob moments before its index entry: younger ones may be
   * on their way). These are what a crash between the two steps, or a failed delete, leaves.
   */
  async sweepOrphans(graceMs: number): Promise<number> {
    const now = this.clock.now();
    let removed = 0;
    for await (const { key, modifiedAt } of this.blobs.list()) {
      if (now - modifiedAt < graceMs || (await this.maintenance.blobReferenced(key))) continue;
      await this.blobs.delete(key);
      removed++;
    }
    if (this.blobs.sweepIncomplete) removed += await this.blobs.sweepIncomplete(graceMs);
    return removed;
  }
}
