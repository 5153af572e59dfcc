/** LoginFailureStore on Kysely: one upsert counts a failure and rolls the window. */
import type { LoginFailures, LoginFailureStore } from '../../../auth/login-throttle.js';
import type { Db } from './rows.js';
import { countInWindow } from './window-counter.js';

export class KyselyLoginFailureStore implements LoginFailureStore {
  constructor(private readonly d: Db) {}

  async get(name: string): Promise<LoginFailures | undefined> {
    const row = await this.d.db.selectFrom('login_failures').selectAll().where('name', '=', name).executeTakeFirst();
    return row && { windowStart: Number(row.window_start), count: Number(row.count) };
  }

  record(name: string, now: number, windowMs: number): Promise<LoginFailures> {
    return countInWindow(this.d.db, 'login_failures', 'name', name, now, windowMs);
  }

  async clear(name: string): Promise<void> {
    await this.d.db.deleteFrom('login_failures').where('name', '=', name).execute();
  }
}
