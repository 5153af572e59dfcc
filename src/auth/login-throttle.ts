/**
 * Throttles password guessing per account: once an account has `maxFailures` failed logins
 * inside the window, every attempt on it (the right password included) gets 429 until the
 * window ends. Counted per account name in the metadata store, so it holds across nodes and one
 * client's failures lock out only the account they target.
 */
import { CofferError } from '../errors.js';
import type { Clock } from '../util/clock.js';

export interface LoginFailures {
  windowStart: number;
  count: number;
}

/** The port: failed logins per account name. */
export interface LoginFailureStore {
  get(name: string): Promise<LoginFailures | undefined>;
  /** Counts one failure; starts a new window when the current one is older than windowMs. */
  record(name: string, now: number, windowMs: number): Promise<LoginFailures>;
  clear(name: string): Promise<void>;
}

export class LoginThrottle {
  constructor(
    private readonly failures: LoginFailureStore,
    private readonly maxFailures: number,
    private readonly windowMs: number,
    private readonly clock: Clock,
  ) {}

  /** Throws 429 with Retry-After while the account is locked. */
  async assertAllowed(name: string): Promise<void> {
    const state = await this.failures.get(name);
    if (!state || state.count < this.maxFailures) return;
    const now = this.clock.now();
    const until = state.windowStart + this.windowMs;
    if (until <= now) return;
    const retryAfter = Math.max(1, Math.ceil((until - now) / 1000));
    throw new CofferError('too_many_requests', `Too many failed logins for this account; try again in ${retryAfter} s.`, {
      'retry-after': String(retryAfter),
    });
  }

  async recordFailure(name: string): Promise<void> {
    await this.failures.record(name, this.clock.now(), this.windowMs);
  }

  async reset(name: string): Promise<void> {
    await this.failures.clear(name);
  }
}
