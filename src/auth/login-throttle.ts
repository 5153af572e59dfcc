/**
 * Throttles password guessing per account: once an account has `maxFailures` failed logins
 * inside the window, every attempt on it (the right password included) gets 429 until the
 * window ends. Counted per account name in the metadata store, so it holds across nodes and one
 * client's failures lock out only the account they target.
 */
import { CofferError } from '../errors.js';
import type { MetadataStore } from '../storage/meta/metadata-store.js';

export class LoginThrottle {
  constructor(
    private readonly store: MetadataStore,
    private readonly maxFailures: number,
    private readonly windowMs: number,
  ) {}

  /** Throws 429 with Retry-After while the account is locked. */
  async assertAllowed(name: string, now = Date.now()): Promise<void> {
    const state = await this.store.getLoginFailures(name);
    if (!state || state.count < this.maxFailures) return;
    const until = state.windowStart + this.windowMs;
    if (until <= now) return;
    const retryAfter = Math.max(1, Math.ceil((until - now) / 1000));
    throw new CofferError(429, 'too_many_requests', `Too many failed logins for this account; try again in ${retryAfter} s.`, {
      'retry-after': String(retryAfter),
    });
  }

  async recordFailure(name: string, now = Date.now()): Promise<void> {
    await this.store.recordLoginFailure(name, now, this.windowMs);
  }

  async reset(name: string): Promise<void> {
    await this.store.clearLoginFailures(name);
  }
}
