/**
 * The maintenance port: what the periodic sweep and the readiness check need, across every owner.
 * Kept apart from the per-owner ports, which the request paths hold.
 */

export interface MaintenanceStore {
  /** Drops expired KV entries, revocations, refresh tokens, spent challenges and stale login failures. */
  sweep(now: number, loginWindowMs: number): Promise<void>;
  ping(): Promise<void>;
}
