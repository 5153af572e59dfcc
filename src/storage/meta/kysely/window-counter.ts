/**
 * A counter per key in a fixed window, as one upsert: the first hit, or the first after the window
 * has passed, starts a new window at 1; the others add 1. Login failures and rate limits count
 * this way; the upsert is atomic, so nodes sharing the table never lose a hit.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.js';

export type CounterTable = 'login_failures' | 'rate_limits';

export async function countInWindow(
  db: Kysely<Database>,
  table: CounterTable,
  keyColumn: 'name' | 'key',
  key: string,
  now: number,
  windowMs: number,
): Promise<{ windowStart: number; count: number }> {
  const t = sql.table(table);
  const k = sql.ref(keyColumn);
  const stale = sql`${t}.window_start <= ${now - windowMs}`;
  const { rows } = await sql<{ window_start: number | string; count: number | string }>`
    insert into ${t} (${k}, window_start, count) values (${key}, ${now}, 1)
    on conflict (${k}) do update set
      window_start = case when ${stale} then ${now} else ${t}.window_start end,
      count = case when ${stale} then 1 else ${t}.count + 1 end
    returning window_start, count`.execute(db);
  const row = rows[0]!;
  return { windowStart: Number(row.window_start), count: Number(row.count) };
}
