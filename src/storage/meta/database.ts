/**
 * The metadata database: one schema, one migration set, two dialects (SQLite embedded, PostgreSQL
 * for many nodes): opening it and migrating it. The table types are in schema.ts, the locks
 * nodes share in locks.ts.
 */
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, sql, PostgresDialect, SqliteDialect, type Migration, type MigrationProvider, type PostgresPool, type PostgresPoolClient, type SqliteDatabase } from 'kysely';
import { preparedSql } from './prepared-query.js';
import * as m0001 from './migrations/0001_initial.js';
import * as m0002 from './migrations/0002_objects.js';
import * as m0003 from './migrations/0003_pending_uploads.js';
import * as m0004 from './migrations/0004_public_keys.js';
import * as m0005 from './migrations/0005_parcels_and_challenges.js';
import * as m0006 from './migrations/0006_one_holder_per_key.js';
import * as m0007 from './migrations/0007_many_nodes.js';
import { exclusively } from './locks.js';
import type { Database, OpenDatabase } from './schema.js';
import { CheckpointingSqliteDialect, WalCheckpoints, type WalCheckpointOptions } from './sqlite/wal-checkpoints.js';

const MIGRATIONS = {
  '0001_initial': m0001,
  '0002_objects': m0002,
  '0003_pending_uploads': m0003,
  '0004_public_keys': m0004,
  '0005_parcels_and_challenges': m0005,
  '0006_one_holder_per_key': m0006,
  '0007_many_nodes': m0007,
} satisfies Record<string, Migration>;

const require = createRequire(import.meta.url);

/** The PostgreSQL driver, loaded by the setups that use it (a SQLite node does not carry it in memory). */
export function loadPg(): typeof import('pg').default {
  return require('pg') as typeof import('pg').default;
}

/** Opens the database named by a `sqlite:<file>` or `postgres://` URL. */
export function openDatabase(url: string, options: { schema?: string; checkpoints?: WalCheckpointOptions } = {}): OpenDatabase {
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    if (file !== ':memory:') {
      mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
      // Made 0600 before SQLite opens it: its -wal and -shm files take the database's mode.
      closeSync(openSync(file, 'a', 0o600));
    }
    const sqlite = new SQLite(file);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 5000');
    const database = withStatementCache(sqlite);
    if (file === ':memory:') return { db: new Kysely<Database>({ dialect: new SqliteDialect({ database }) }), dialect: 'sqlite', sqlite };
    const checkpoints = new WalCheckpoints(sqlite, path.resolve(file), options.checkpoints);
    return { db: new Kysely<Database>({ dialect: new CheckpointingSqliteDialect({ database }, checkpoints) }), dialect: 'sqlite', sqlite, checkpoints };
  }
  const pg = loadPg();
  // int8 (bigint) columns hold epoch milliseconds: well inside Number's exact range.
  const types = {
    getTypeParser: (oid: number, format?: 'text' | 'binary') =>
      oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text'),
  };
  const pool = new pg.Pool({
    connectionString: url,
    types,
    max: 10,
    ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
    // A dead connection is found out in seconds, not at the kernel's TCP timeout.
    connectionTimeoutMillis: 5000,
    keepAlive: true,
  });
  // An idle connection that the database drops is only removed from the pool; the requests and
  // /readyz that need the database report the outage (without this, the process would crash).
  pool.on('error', () => {});
  return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool: namingPreparedQueries(pool) }) }), dialect: 'postgres' };
}

/**
 * The pool as Kysely sees it: its clients run the hot path's prepared queries (prepared-query.ts)
 * as named statements, parsed and planned once per connection, and survive their server going
 * away while checked out.
 */
function namingPreparedQueries(pool: import('pg').Pool): PostgresPool {
  const names = new Map<string, string>();
  const nameOf = (text: string) => {
    let name = names.get(text);
    if (!name) names.set(text, (name = `coffer_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`));
    return name;
  };
  return {
    async connect() {
      const client = await pool.connect();
      // pg-pool listens for errors of idle clients only: a client checked out (between two
      // statements of a transaction, holding a lock) whose server goes away would emit an error
      // nobody hears, and crash the process. Heard here, it fails its next query (a 503) and is
      // destroyed on release.
      let broken: Error | undefined;
      const onError = (e: Error) => void (broken ??= e);
      client.on('error', onError);
      return {
        // Kysely passes SQL and parameters (it never streams through a cursor here).
        query: ((text: string, values?: unknown[]) =>
          preparedSql.has(text) ? client.query({ name: nameOf(text), text, values: values ?? [] }) : client.query(text, values)) as unknown as PostgresPoolClient['query'],
        release: () => {
          client.off('error', onError);
          client.release(broken);
        },
      };
    },
    end: () => pool.end(),
  };
}

/**
 * better-sqlite3 that keeps its prepared statements: Kysely prepares every query anew, and on the
 * hot path preparing costs more than running. Safe because nothing here streams a statement
 * (a statement cannot serve two iterations at once).
 */
function withStatementCache(sqlite: SQLite.Database, limit = 512): SqliteDatabase & { prepare(sql: string): SQLite.Statement } {
  const statements = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql) {
      let statement = statements.get(sql);
      if (!statement) {
        statement = sqlite.prepare(sql);
        if (statements.size >= limit) statements.delete(statements.keys().next().value!);
        statements.set(sql, statement);
      }
      return statement;
    },
  };
}

/** Brings the schema up to date; throws with the failing migration's name on error. */
export function migrateToLatest(open: OpenDatabase): Promise<void> {
  return migrateTo(open, undefined);
}

/**
 * Brings the schema to the migration named `target` (every one, when undefined). Kysely runs
 * SQLite migrations outside a transaction: each one gets its own here.
 */
export async function migrateTo(open: OpenDatabase, target: keyof typeof MIGRATIONS | undefined): Promise<void> {
  const migrator = await migratorOf(open);
  // Nodes that start together migrate one after the other; the later ones find nothing to do.
  const { error, results } = await exclusively(open, 'migrations', () => (target === undefined ? migrator.migrateToLatest() : migrator.migrateTo(target)));
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`database migration ${failed} failed: ${(error as Error).message ?? String(error)}`);
  }
}

/**
 * For commands that only read (`coffer jwks`): the schema must be this version's already. They
 * never migrate a database that running nodes of an older version share.
 */
export async function assertMigrated(open: OpenDatabase): Promise<void> {
  const missing = (await (await migratorOf(open)).getMigrations()).filter((m) => m.executedAt === undefined);
  if (missing.length > 0) {
    throw new Error(`the database schema is older than this coffer (missing ${missing.map((m) => m.name).join(', ')}); start \`coffer serve\` of this version once to migrate it`);
  }
}

async function migratorOf(open: OpenDatabase): Promise<Migrator> {
  const provider: MigrationProvider = {
    async getMigrations() {
      if (open.dialect !== 'sqlite') return MIGRATIONS;
      const wrapped: Record<string, Migration> = {};
      for (const [name, m] of Object.entries(MIGRATIONS)) {
        wrapped[name] = { up: (db) => db.transaction().execute((trx) => m.up(trx)) };
      }
      return wrapped;
    },
  };
  // Kysely looks for its own tables in every schema: name ours, or another installation's (in
  // another schema of the same PostgreSQL database) would be taken for it.
  const schema = open.dialect === 'postgres' ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(open.db)).rows[0]?.schema : undefined;
  return new Migrator({ db: open.db, provider, ...(schema ? { migrationTableSchema: schema } : {}) });
}
