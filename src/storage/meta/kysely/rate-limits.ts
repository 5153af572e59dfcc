/** RateLimitStore on Kysely: one upsert counts a request and rolls the window (as login failures do). */
import { sql } from 'kysely';
import type { RateLimitStore } from '../../../ops/rate-limits.js';
import type { Db } from './rows.js';

export class KyselyRateLimitStore implements RateLimitStore {
  constructor(private readonly d: Db) {}

  async hit(key: string, now: number, windowMs: number): Promise<{ count: number; windowStart: number }> {
    const stale = sql<boolean>`rate_limits.window_start <= ${now - windowMs}`;
    const row = await this.d.db
      .insertInto('rate_limits')
      .values({ key, window_start: now, count: 1 })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({
          window_start: sql`case when ${stale} then ${now} else rate_limits.window_start end`,
          count: sql`case when ${stale} then 1 else rate_limits.count + 1 end`,
        }),
      )
      .returning(['window_start', 'count'])
      .executeTakeFirstOrThrow();
    return { count: Number(row.count), windowStart: Number(row.window_start) };
  }
}
