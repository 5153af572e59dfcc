/**
 * The periodic sweeps: expired rows every minute, presigned uploads whose URL expired, and (once
 * an hour, since listing every blob is not free) blobs nothing points at.
 */
import type { ObjectSweeper } from '../objects/object-sweeper.js';
import type { Clock } from '../util/clock.js';
import type { MaintenanceStore } from './maintenance-store.js';

/** Runs a sweep unless another node is running it right now. */
export interface SweepLock {
  ifAlone<T>(name: string, fn: () => Promise<T>): Promise<T | undefined>;
}

const SWEEP_INTERVAL_MS = 60_000;
/** Blobs younger than this are never taken for orphans (their upload may be committing). */
export const ORPHAN_GRACE_MS = 3_600_000;
const ORPHAN_SWEEP_EVERY = 60;

export interface SweepLog {
  warn(err: unknown, message: string): void;
  removed(count: number): void;
}

/** Every node starts them; on many nodes over one database, one node at a time runs each. */
export function startSweeps(
  stores: { maintenance: MaintenanceStore } & SweepLock,
  objects: ObjectSweeper,
  loginWindowMs: number,
  clock: Clock,
  log: SweepLog,
): () => void {
  let sweeps = 0;
  const timer = setInterval(() => {
    stores.ifAlone('sweep', () => stores.maintenance.sweep(clock.now(), loginWindowMs)).catch((err) => log.warn(err, 'sweep failed'));
    stores.ifAlone('sweep-pending', () => objects.sweepPending()).catch((err) => log.warn(err, 'sweep of presigned uploads failed'));
    if (++sweeps % ORPHAN_SWEEP_EVERY === 0) {
      stores
        .ifAlone('sweep-orphans', () => objects.sweepOrphans(ORPHAN_GRACE_MS))
        .then((removed) => removed !== undefined && removed > 0 && log.removed(removed))
        .catch((err) => log.warn(err, 'sweep of orphan blobs failed'));
    }
  }, SWEEP_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
