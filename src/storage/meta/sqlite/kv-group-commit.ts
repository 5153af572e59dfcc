/**
 * KV writes on SQLite in group commits. A commit costs more than the write it makes durable (a
 * WAL append, half of a lone write's CPU), and a busy server receives many writes in one turn
 * of the event loop: they share one transaction, run at the end of that turn. Each write still
 * sees the ones queued before it and gets its own answer: a failed check rejects that write alone.
 * A write is acknowledged only once its transaction has committed.
 *
 * better-sqlite3 runs the batch synchronously, so no other statement can slip into it. Kysely's
 * transactions do await between their statements; a batch that finds one open waits for the
 * next turn rather than joining it, and while a checkpoint holds writes back, for their release.
 */
import type SQLite from 'better-sqlite3';
import type { KvEntry, KvScan, KvStore } from '../../../kv/kv-store.js';
import type { KvTable } from '../schema.js';
import type { Selectable } from 'kysely';
import { kvRow, liveEntry } from '../kysely/kv.js';
import type { WalCheckpoints } from './wal-checkpoints.js';

type Check = (current: KvEntry | undefined) => void;

interface QueuedWrite {
  owner: string;
  entry: KvEntry;
  check: Check;
  resolve: (result: { created: boolean }) => void;
  reject: (error: unknown) => void;
}

const COLUMNS = ['owner', 'key', 'kind', 'content_type', 'value', 'size', 'etag', 'expires_at', 'created_at', 'updated_at'];

export class GroupCommitKvStore implements KvStore {
  private queue: QueuedWrite[] = [];
  private readonly current: SQLite.Statement<[string, string], Selectable<KvTable>>;
  private readonly insert: SQLite.Statement<[Selectable<KvTable>]>;
  private readonly update: SQLite.Statement<[Selectable<KvTable>]>;
  private readonly runBatch: (batch: QueuedWrite[]) => Array<() => void>;

  /** `store` serves everything but writes: reads, scans and deletes need no batching. */
  constructor(
    private readonly sqlite: SQLite.Database,
    private readonly store: KvStore,
    private readonly checkpoints?: WalCheckpoints,
  ) {
    this.current = sqlite.prepare('select * from kv where owner = ? and key = ?');
    this.insert = sqlite.prepare(`insert into kv (${COLUMNS.join(', ')}) values (${COLUMNS.map((c) => '@' + c).join(', ')})`);
    this.update = sqlite.prepare(
      `update kv set ${COLUMNS.slice(2).map((c) => `${c} = @${c}`).join(', ')} where owner = @owner and key = @key`,
    );
    // Answers are given after the commit: a write is never acknowledged before it is durable.
    this.runBatch = sqlite.transaction((batch: QueuedWrite[]) => batch.map((w) => this.writeOne(w)));
  }

  get(owner: string, key: string, now: number): Promise<KvEntry | undefined> {
    return this.store.get(owner, key, now);
  }

  scan(owner: string, scan: KvScan): Promise<string[]> {
    return this.store.scan(owner, scan);
  }

  delete(owner: string, key: string, now: number, onlyIfEtag?: string): Promise<boolean> {
    return this.store.delete(owner, key, now, onlyIfEtag);
  }

  deletePrefix(owner: string, prefix: string, now: number): Promise<number> {
    return this.store.deletePrefix(owner, prefix, now);
  }

  write(owner: string, entry: KvEntry, check: Check): Promise<{ created: boolean }> {
    return new Promise((resolve, reject) => {
      if (this.queue.push({ owner, entry, check, resolve, reject }) === 1) setImmediate(this.flush);
    });
  }

  private readonly flush = (): void => {
    if (this.sqlite.inTransaction) {
      setImmediate(this.flush); // a Kysely transaction is between two of its statements
      return;
    }
    const held = this.checkpoints?.heldFor(() => true);
    if (held) {
      void held.then(this.flush); // the log is being emptied (wal-checkpoints.ts)
      return;
    }
    const batch = this.queue;
    this.queue = [];
    let answers: Array<() => void>;
    try {
      answers = this.runBatch(batch);
    } catch (error) {
      for (const w of batch) w.reject(error); // rolled back: none of them happened
      return;
    }
    for (const answer of answers) answer();
  };

  /** One write inside the batch's transaction; returns how to answer it once committed. */
  private writeOne(w: QueuedWrite): () => void {
    const row = this.current.get(w.owner, w.entry.key);
    const current = liveEntry(row, w.entry.updatedAt);
    try {
      w.check(current);
    } catch (refusal) {
      return () => w.reject(refusal);
    }
    (row ? this.update : this.insert).run(kvRow(w.owner, w.entry, current));
    return () => w.resolve({ created: current === undefined });
  }
}
