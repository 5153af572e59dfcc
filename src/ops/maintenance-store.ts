/**
 * The maintenance port: what the periodic sweeps and the readiness check need, across every
 * owner. Kept apart from the per-owner ports, which the request paths hold.
 */
import type { PendingUpload } from '../objects/object-index.js';

export interface MaintenanceStore {
  /** Drops expired KV entries, revocations, refresh tokens, spent challenges and stale login failures. */
  sweep(now: number, loginWindowMs: number): Promise<void>;
  /** Pending uploads of every owner whose URL expired before `now`. */
  expiredPendingUploads(now: number, limit: number): Promise<PendingUpload[]>;
  /** Whether any index entry or pending upload points at this blob (orphan sweeps). */
  blobReferenced(blobKey: string): Promise<boolean>;
  ping(): Promise<void>;
}
