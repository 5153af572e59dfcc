/** LoginFailureStore on Kysely: one upsert counts a failure and rolls the window. */
import { sql } from 'kysely';
import type { LoginFailures, LoginFailureStore } from '../../../auth/login-throttle.js';
import type { Db } from './rows.js';

export class KyselyLoginFailureStore implements LoginFailureStore {
  constructor(private readonly d: Db) {}

  async get(name: string): Promise<LoginFailures | undefined> {
    const row = await this.d.db.selectFrom('login_failures').selectAll().where('name', '=', name).executeTakeFirst();
    return row && { windowStart: Number(row.window_start), count: Number(row.count) };
  }

  async record(name: string, now: number, windowMs: number): Promise<LoginFailures> {
    const stale = sql<boolean>`login_failures.window_start <= ${now - windowMs}`;
    const row = await this.d.db
      .insertInto('login_failures')
      .values({ name, window_start: now, count: 1 })
      .onConflict((oc) =>
        oc.column('name').doUpdateSet({
          window_start: sql`case when ${stale} then ${now} else login_failures.window_start end`,
          count: sql`case when ${stale} then 1 else login_failures.count + 1 end`,
        }),
      )
      .returning(['window_start', 'count'])
      .executeTakeFirstOrThrow();
    return { windowStart: Number(row.window_start), count: Number(row.count) };
  }

  async clear(name: string): Promise<void> {
    await this.d.db.deleteFrom('login_failures').where('name', '=', name).execute();
  }
}
