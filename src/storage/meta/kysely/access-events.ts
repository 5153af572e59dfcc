/**
 * The access-event log on Kysely. A change writes its event in its own transaction; on
 * PostgreSQL a NOTIFY (delivered at commit) wakes every node's feed at once.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { AccessEvent, AccessEventKind, AccessEventLog } from '../../../auth/access-events.js';
import { loadPg } from '../database.js';
import { takeTurn } from '../locks.js';
import type { Database, Dialect } from '../schema.js';
import type { Db } from './rows.js';

const CHANNEL = 'coffer_access';

/**
 * Writes one event, in the transaction of the change it announces; on PostgreSQL also notifies the
 * nodes following this schema's log. Readers follow the log by id, so ids must become visible in
 * their order: a sequence hands them out at insert, not at commit, and a later id committed first
 * would be read, and the earlier one skipped for ever. So on PostgreSQL writers of the log take
 * turns (a transaction-scoped lock, held until commit); such changes are rare.
 */
export async function announceAccessChange(trx: Transaction<Database> | Kysely<Database>, dialect: Dialect, kind: AccessEventKind, subject: string, now: number): Promise<void> {
  if (!trx.isTransaction) return trx.transaction().execute((t) => announceAccessChange(t, dialect, kind, subject, now));
  await takeTurn(trx as Transaction<Database>, dialect, 'access_events');
  await trx.insertInto('access_events').values({ kind, subject, at: now }).execute();
  if (dialect === 'postgres') await sql`select pg_notify(${CHANNEL}, current_schema())`.execute(trx);
}

export class KyselyAccessEventLog implements AccessEventLog {
  constructor(
    private readonly d: Db,
    /** How to open the listening connection (PostgreSQL). */
    private readonly connection?: { url: string; schema?: string },
  ) {}

  async latest(): Promise<number> {
    const row = await this.d.db.selectFrom('access_events').select((eb) => eb.fn.max('id').as('id')).executeTakeFirst();
    return Number(row?.id ?? 0);
  }

  async since(id: number, limit: number): Promise<AccessEvent[]> {
    const rows = await this.d.db.selectFrom('access_events').select(['id', 'kind', 'subject']).where('id', '>', id).orderBy('id').limit(limit).execute();
    return rows.map((r) => ({ id: Number(r.id), kind: r.kind as AccessEventKind, subject: r.subject }));
  }

  get listen(): AccessEventLog['listen'] {
    const connection = this.connection;
    if (this.d.dialect !== 'postgres' || !connection) return undefined;
    return async (wake, onError) => {
      const client = new (loadPg().Client)({ connectionString: connection.url, ...(connection.schema ? { options: `-c search_path=${connection.schema}` } : {}) });
      client.on('error', onError);
      await client.connect();
      const { rows } = await client.query<{ schema: string }>('select current_schema() as schema');
      const schema = rows[0]?.schema;
      client.on('notification', (n) => n.channel === CHANNEL && n.payload === schema && wake());
      await client.query(`LISTEN ${CHANNEL}`);
      return () => client.end();
    };
  }
}
