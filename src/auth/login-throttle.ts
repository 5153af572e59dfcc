/**
 * Throttles password guessing per account: once an account has had `maxFailures` failed logins
 * inside the window, every attempt on it (the right password included) gets 429 until the
 * window ends. Counted per account name in the metadata store, so it holds across nodes and one
 * client's failures lock out only the account they target.
 *
 * An attempt is counted when it starts, before its password is checked, and a success clears
 * the count: counting failures only when they end let a burst of concurrent guesses all pass the
 * check while the first hashes were still running.
 */
import { CofferError } from '../errors.js';
import type { Clock } from '../util/clock.js';

export interface LoginFailures {
  windowStart: number;
  count: number;
}

/** The port: login attempts not yet followed by a success, per account name. */
export interface LoginFailureStore {
  /** Counts one attempt; starts a new window when the current one is older than windowMs. */
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

  /** Counts an attempt on the account; throws 429 with Retry-After when it is past the limit. */
  async admit(name: string): Promise<void> {
    const now = this.clock.now();
    const state = await this.failures.record(name, now, this.windowMs);
    if (state.count <= this.maxFailures) return;
    const retryAfter = Math.max(1, Math.ceil((state.windowStart + this.windowMs - now) / 1000));
    throw new CofferError('too_many_requests', `Too many failed logins for this account; try again in ${retryAfter} s.`, {
      'retry-after': String(retryAfter),
    });
  }

  /** A successful login: the attempts so far no longer count. */
  async reset(name: string): Promise<void> {
    await this.failures.clear(name);
  }
}
