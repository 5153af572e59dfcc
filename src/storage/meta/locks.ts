/**
 * Locks the nodes of one installation share: PostgreSQL advisory locks, named per schema (two
 * installations in one database do not block each other). On SQLite there is one process, and
 * they cost nothing.
 */
import { sql, type Transaction } from 'kysely';
import type { Database, Dialect, OpenDatabase } from './schema.js';

function lockKey(name: string) {
  return sql`hashtext(current_schema() || ':' || ${name})`;
}

/** Runs `fn` while this node alone holds the lock `name`; the others wait. */
export async function exclusively<T>(open: OpenDatabase, name: string, fn: () => Promise<T>): Promise<T> {
  return (await holding(open, name, 'wait', fn)) as T;
}

/** Like `exclusively`, but when another node holds the lock it does not wait: undefined, and `fn` does not run. */
export function ifAlone<T>(open: OpenDatabase, name: string, fn: () => Promise<T>): Promise<T | undefined> {
  return holding(open, name, 'try', fn);
}

/**
 * Inside a transaction: waits until no other transaction holds `name`, and holds it until this
 * one commits or rolls back. For writes that must become visible one after the other.
 */
export async function takeTurn(trx: Transaction<Database>, dialect: Dialect, name: string): Promise<void> {
  if (dialect === 'postgres') await sql`select pg_advisory_xact_lock(${lockKey(name)})`.execute(trx);
}

async function holding<T>(open: OpenDatabase, name: string, mode: 'wait' | 'try', fn: () => Promise<T>): Promise<T | undefined> {
  if (open.dialect !== 'postgres') return fn();
  return open.db.connection().execute(async (conn) => {
    if (mode === 'wait') {
      await sql`select pg_advisory_lock(${lockKey(name)})`.execute(conn);
    } else {
      const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${lockKey(name)}) as locked`.execute(conn);
      if (!rows[0]?.locked) return undefined;
    }
    try {
      return await fn();
    } finally {
      await sql`select pg_advisory_unlock(${lockKey(name)})`.execute(conn);
    }
  });
}
