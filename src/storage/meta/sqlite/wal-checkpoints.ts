/**
 * SQLite's write-ahead log is copied back into the database file (checkpointed) off the event
 * loop. Left to SQLite, the commit that takes the log past 1000 pages does it on the main thread,
 * where better-sqlite3 runs, fsyncs included: under a login storm (every login writes) other
 * clients' GETs stalled behind it (bench/login-storm.ts: p99 3-4x its p99 alone).
 *
 * Here, once a second, the log's size is looked at. Past `limitBytes`, a worker thread (kept while
 * checkpoints keep coming, gone after `idleMs` without) checkpoints it in two steps:
 *   1. PASSIVE: copies what the log holds, while the main connection goes on reading and writing;
 *   2. TRUNCATE: with new writes held back (reads go on), copies the little written meanwhile and
 *      empties the log. Without this step a busy server's log is never started over and grows
 *      without bound (tried: 20 MiB in 10 s under kv-bench's PUT); emptied, its file's size also
 *      says how much it holds. A transaction that stays open makes this step give way (the writes
 *      go on) until the next second. A worker that fails or hangs is ended, and the next try comes
 *      10 s later with a new one.
 * SQLite's own automatic checkpoint stays, far higher, as the safety net should the workers fail.
 */
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import type SQLite from 'better-sqlite3';
import { SqliteDialect, type CompiledQuery, type DatabaseConnection, type Driver, type QueryResult, type TransactionSettings } from 'kysely';

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 100');
parentPort.on('message', (mode) => {
  try {
    const [result] = db.pragma('wal_checkpoint(' + mode + ')');
    parentPort.postMessage({ result });
  } catch (e) {
    parentPort.postMessage({ error: String(e) });
  }
});
`;

/** SQLite's own threshold (1000 pages of 4 KiB), checked here off the commit path. */
export const WAL_LIMIT_BYTES = 4 * 1024 * 1024;
/** Pages past which the main connection checkpoints itself after all (SQLite's mechanism). */
const SAFETY_NET_PAGES = 16_000;
/** A checkpoint taking longer than this fails (its worker is ended, held writes go on). */
const ASK_TIMEOUT_MS = 30_000;

export interface WalCheckpointOptions {
  /** The log's size past which it is checkpointed (WAL_LIMIT_BYTES). */
  limitBytes?: number;
  /** How often the log's size is looked at (1000 ms). */
  everyMs?: number;
  /** How long the worker is kept without a checkpoint to run (10 s). */
  idleMs?: number;
  /** How long emptying the log waits for an open transaction to end before giving way (100 ms). */
  quietMs?: number;
}

interface CheckpointResult { busy: number; log: number; checkpointed: number }

export class WalCheckpoints {
  private worker?: { thread: Worker; lastUsed: number };
  private held?: { promise: Promise<void>; release: () => void };
  private running = false;
  private stopped = false;
  /** After a failed checkpoint, none is tried before this time (a broken worker is not restarted every second). */
  private notBefore = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly sqlite: SQLite.Database,
    private readonly file: string,
    private readonly options: WalCheckpointOptions = {},
  ) {
    sqlite.pragma(`wal_autocheckpoint = ${SAFETY_NET_PAGES}`);
    this.timer = setInterval(this.tick, options.everyMs ?? 1000);
    this.timer.unref();
  }

  /**
   * What a statement must wait for before it runs: the release of held writes, when it would write
   * outside a transaction (`writes` is asked only then); undefined when it may run now.
   */
  heldFor(writes: () => boolean): Promise<void> | undefined {
    if (!this.held || this.sqlite.inTransaction) return undefined;
    return writes() ? this.held.promise : undefined;
  }

  get holding(): boolean {
    return this.held !== undefined;
  }

  /**
   * Holds new writes back until the returned function is called. Reads are not held, but on the
   * one connection a read queued behind a held Kysely write waits with it (the hot path's reads,
   * the KV and access caches, touch no connection).
   */
  holdWrites(): () => void {
    if (this.held) throw new Error('writes are already held');
    let release!: () => void;
    const promise = new Promise<void>((resolve) => (release = resolve));
    this.held = { promise, release };
    return () => {
      this.held = undefined;
      release();
    };
  }

  /**
   * Checkpoints and empties the log now; undefined when it could not be emptied: a transaction
   * stayed open throughout, or SQLite's TRUNCATE itself found the log busy (it still answers a row).
   */
  async checkpoint(): Promise<CheckpointResult | undefined> {
    await this.ask('PASSIVE');
    const release = this.holdWrites();
    try {
      if (!(await this.quiet())) return undefined;
      const result = await this.ask('TRUNCATE');
      return result.busy === 0 ? result : undefined;
    } finally {
      release();
    }
  }

  /** Ends the timer and the worker; a checkpoint under way fails and releases the writes. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.stopWorker();
  }

  private readonly tick = (): void => {
    if (!this.sqlite.open) return this.stop();
    if (this.running || Date.now() < this.notBefore) return;
    this.running = true;
    void stat(`${this.file}-wal`)
      .then((s) => s.size, () => 0) // no log yet
      .then((size) => {
        if (size > (this.options.limitBytes ?? WAL_LIMIT_BYTES)) return this.checkpoint();
        if (this.worker && Date.now() - this.worker.lastUsed > (this.options.idleMs ?? 10_000)) this.stopWorker();
      })
      .catch(() => {
        // Tried afresh, with a new worker, in 10 s; SQLite's own checkpoint bounds the log meanwhile.
        this.stopWorker();
        this.notBefore = Date.now() + 10_000;
      })
      .finally(() => (this.running = false));
  };

  /** Waits (briefly) until no transaction is open on the main connection. */
  private async quiet(): Promise<boolean> {
    for (const deadline = Date.now() + (this.options.quietMs ?? 100); this.sqlite.inTransaction; await sleep(1)) {
      if (Date.now() > deadline) return false;
    }
    return true;
  }

  /** One checkpoint by the worker (started when there is none); fails if it exits or takes over ASK_TIMEOUT_MS. */
  private ask(mode: 'PASSIVE' | 'TRUNCATE'): Promise<CheckpointResult> {
    if (this.stopped) return Promise.reject(new Error('checkpoints are stopped'));
    const worker = (this.worker ??= { thread: this.startWorker(), lastUsed: 0 });
    worker.lastUsed = Date.now();
    const { thread } = worker;
    return new Promise((resolve, reject) => {
      const settle = (error?: Error, result?: CheckpointResult) => {
        clearTimeout(timer);
        thread.off('exit', onExit);
        thread.off('message', onMessage);
        if (result) resolve(result);
        else reject(error);
      };
      const onExit = () => settle(new Error('the checkpoint worker exited'));
      const onMessage = (m: { result?: CheckpointResult; error?: string }) => settle(new Error(m.error), m.result);
      const timer = setTimeout(() => {
        settle(new Error(`the checkpoint took over ${ASK_TIMEOUT_MS} ms`));
        if (this.worker?.thread === thread) this.stopWorker();
      }, ASK_TIMEOUT_MS);
      thread.once('exit', onExit);
      thread.once('message', onMessage);
      thread.postMessage(mode);
    });
  }

  private startWorker(): Worker {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const thread = new Worker(WORKER, { eval: true, workerData: { driver, file: this.file } });
    thread.unref();
    thread.on('error', () => {}); // its pending question, if any, is failed by 'exit'
    // A worker that ends between two questions is not asked again: the next question starts one.
    thread.once('exit', () => {
      if (this.worker?.thread === thread) this.worker = undefined;
    });
    return thread;
  }

  private stopWorker(): void {
    void this.worker?.thread.terminate();
    this.worker = undefined;
  }
}

/**
 * Kysely's SQLite dialect whose writes wait while `checkpoints` holds writes back. A statement
 * waits when it would write (or begins a transaction) outside a transaction; inside one it goes
 * on, and the checkpoint waits for the transaction to end instead.
 */
export class CheckpointingSqliteDialect extends SqliteDialect {
  constructor(
    private readonly config: { database: { prepare(sql: string): SQLite.Statement; close(): void } },
    private readonly checkpoints: WalCheckpoints,
  ) {
    super(config);
  }

  override createDriver(): Driver {
    const inner = super.createDriver();
    // SQLite calls BEGIN and SAVEPOINT read-only, but they open the transactions that write.
    const writes = (sql: string) => /^\s*(begin|savepoint)\b/i.test(sql) || !this.config.database.prepare(sql).readonly;
    const wrap = (connection: DatabaseConnection): DatabaseConnection => ({
      executeQuery: async <R>(query: CompiledQuery): Promise<QueryResult<R>> => {
        const held = this.checkpoints.heldFor(() => writes(query.sql));
        if (held) await held;
        return connection.executeQuery<R>(query);
      },
      streamQuery: (query, chunkSize) => connection.streamQuery(query, chunkSize),
    });
    let wrapped: { inner: DatabaseConnection; outer: DatabaseConnection } | undefined;
    return {
      init: () => inner.init(),
      acquireConnection: async () => {
        const connection = await inner.acquireConnection();
        if (wrapped?.inner !== connection) wrapped = { inner: connection, outer: wrap(connection) };
        return wrapped.outer;
      },
      beginTransaction: (connection, settings: TransactionSettings) => inner.beginTransaction(connection, settings),
      commitTransaction: (connection) => inner.commitTransaction(connection),
      rollbackTransaction: (connection) => inner.rollbackTransaction(connection),
      savepoint: (connection, name, compile) => inner.savepoint!(connection, name, compile),
      rollbackToSavepoint: (connection, name, compile) => inner.rollbackToSavepoint!(connection, name, compile),
      releaseSavepoint: (connection, name, compile) => inner.releaseSavepoint!(connection, name, compile),
      releaseConnection: (connection) => inner.releaseConnection(connection),
      destroy: () => {
        this.checkpoints.stop();
        return inner.destroy();
      },
    };
  }
}
