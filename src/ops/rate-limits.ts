/**
 * Per-client-address rate limits on the routes that cost a password check or a signature
 * (login, registration, challenges, assertions). Counted in the metadata store, so every node of
 * a cluster counts the same requests (SPEC §5); a fixed window per address.
 */
import type { Clock } from '../util/clock.js';

export interface RateLimitHit {
  /** Requests counted in the current window, this one included. */
  count: number;
  /** Milliseconds until the window ends. */
  resetInMs: number;
}

/** The port: one counter per key and window. */
export interface RateLimitStore {
  /** Counts one request; starts a new window when the current one is older than windowMs. */
  hit(key: string, now: number, windowMs: number): Promise<{ count: number; windowStart: number }>;
}

export class RateLimits {
  constructor(
    private readonly store: RateLimitStore,
    private readonly clock: Clock,
  ) {}

  async hit(key: string, windowMs: number): Promise<RateLimitHit> {
    const now = this.clock.now();
    const { count, windowStart } = await this.store.hit(key, now, windowMs);
    return { count, resetInMs: Math.max(0, windowStart + windowMs - now) };
  }
}
