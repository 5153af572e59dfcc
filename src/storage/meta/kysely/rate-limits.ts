/** RateLimitStore on Kysely: one upsert counts a request and rolls the window (as login failures do). */
import type { RateLimitStore } from '../../../ops/rate-limits.js';
import type { Db } from './rows.js';
import { countInWindow } from './window-counter.js';

export class KyselyRateLimitStore implements RateLimitStore {
  constructor(private readonly d: Db) {}

  hit(key: string, now: number, windowMs: number): Promise<{ count: number; windowStart: number }> {
    return countInWindow(this.d.db, 'rate_limits', 'key', key, now, windowMs);
  }
}
