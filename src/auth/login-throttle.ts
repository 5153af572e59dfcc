/**
 * Throttles password guessing per account: once an account has `maxFailures` failed logins
 * inside the window, every attempt on it (the right password included) gets 429 until the
 * window ends. Counted per account name in the metadata store, so it holds across nodes and one
 * client's failures lock out only the account they target.
 *
 * A failure is only known when its hash is done, so a burst of concurrent guesses could all pass
 * the check before the first had failed. Each node therefore lets no more attempts on an account
 * run at once than it has failures left; the others wait their turn (they are not refused: a burst
 * of right passwords, many workers sharing one account, all get in). Across N nodes at most N
 * times the limit can be guessed in one window.
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

/** The attempts on one account running on this node, and those waiting for a turn. */
interface Turns {
  running: number;
  waiting: Array<() => void>;
}

export class LoginThrottle {
  constructor(
    private readonly failures: LoginFailureStore,
    private readonly maxFailures: number,
    private readonly windowMs: number,
    private readonly clock: Clock,
  ) {}

  private readonly turns = new Map<string, Turns>();

  /** How many accounts have attempts running or waiting on this node (nothing is kept for idle ones). */
  get busyAccounts(): number {
    return this.turns.size;
  }

  /**
   * Waits for a turn to check a password on the account: throws 429 with Retry-After while it is
   * locked. The returned function ends the turn; call it once the failure (if any) is recorded.
   */
  async admit(name: string): Promise<() => void> {
    for (;;) {
      const left = this.maxFailures - (await this.failuresNow(name).catch((e: unknown) => this.forgetIdle(name, e)));
      const turns = this.turns.get(name) ?? { running: 0, waiting: [] };
      if (turns.running < left) {
        turns.running += 1;
        this.turns.set(name, turns);
        let ended = false;
        return () => {
          if (ended) return;
          ended = true;
          this.endTurn(name, turns);
        };
      }
      await new Promise<void>((resolve) => {
        turns.waiting.push(resolve);
        this.turns.set(name, turns);
      });
    }
  }

  async recordFailure(name: string): Promise<void> {
    await this.failures.record(name, this.clock.now(), this.windowMs);
  }

  async reset(name: string): Promise<void> {
    await this.failures.clear(name);
  }

  /** The failures in the current window; throws 429 when they reach the limit. */
  private async failuresNow(name: string): Promise<number> {
    const state = await this.failures.get(name);
    const now = this.clock.now();
    const until = (state?.windowStart ?? 0) + this.windowMs;
    if (!state || until <= now) return 0;
    if (state.count < this.maxFailures) return state.count;
    const retryAfter = Math.max(1, Math.ceil((until - now) / 1000));
    throw new CofferError('too_many_requests', `Too many failed logins for this account; try again in ${retryAfter} s.`, {
      'retry-after': String(retryAfter),
    });
  }

  /**
   * Wakes every waiter: each reads the failures again, and takes the free turn, waits again, or
   * (the account now locked) gets its 429. Forgets the account when nothing runs or waits.
   */
  private endTurn(name: string, turns: Turns): void {
    turns.running -= 1;
    const waiting = turns.waiting.splice(0);
    for (const wake of waiting) wake();
    if (turns.running === 0 && waiting.length === 0) this.turns.delete(name);
  }

  /** A refused waiter may have been the last one: the account is forgotten then. Rethrows `error`. */
  private forgetIdle(name: string, error: unknown): never {
    const turns = this.turns.get(name);
    if (turns && turns.running === 0 && turns.waiting.length === 0) this.turns.delete(name);
    throw error;
  }
}
